"""Attachment bodies."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from blink_api.files.sniffing import display_name
from blink_api.kit.schema import RequestModel, ResponseModel

_ATTACHMENT_EXAMPLE = {
    "id": "4e8a2d61-9c3f-4b57-a0e2-6d1f8b3c7a95",
    "ticket_id": "3f2b8c1e-5d4a-4e7b-9c21-8a6f0d3e4b57",
    "filename": "fenster-3og-nord.jpg",
    "content_type": "image/jpeg",
    "size": 482113,
    "created_at": "2026-11-27T08:14:04.120000Z",
    "created_by": "91f4d2a8-3e6b-4c17-a5d9-7b0e2c8f4a16",
}


class AttachmentRead(ResponseModel):
    """A stored file: a ticket's attachment, or an upload not attached to a ticket (a form's photo or
    signature). Its bytes: `GET /attachments/{attachment_id}/content`."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ATTACHMENT_EXAMPLE]})

    id: uuid.UUID = Field(description="The file's id.")
    ticket_id: uuid.UUID | None = Field(
        description="The ticket it is attached to; null for an upload not attached to a ticket."
    )
    filename: str = Field(
        description="The file name it was sent with, without any directory, or the name its uploader gave "
        "it since (`PATCH /attachments/{attachment_id}`)."
    )
    content_type: str = Field(description="The media type read from the bytes (not the one the client sent).")
    size: int = Field(description="Bytes stored (for images: of the normalised image).")
    created_at: datetime = Field(description="When it was stored.")
    created_by: uuid.UUID = Field(description="The account (employee or customer user) that sent it.")


class AttachmentList(ResponseModel):
    """The files stored by one request, in the order they were sent."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_ATTACHMENT_EXAMPLE]}]})

    items: list[AttachmentRead] = Field(description="One entry per file sent.")


def _shown_name(value: str) -> str:
    name = display_name(value, path=False, fallback="")
    if not name:
        raise PydanticCustomError("filename_blank", "The name has nothing left to show once cleaned.")
    return name


class AttachmentRename(RequestModel):
    """A new name for a file; its content and type stay as they are."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"filename": "Fenster 3. OG Nord (vorher).jpg"}]}
    )

    filename: Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_shown_name)] = (
        Field(
            description="The name shown and offered on download (free text: the extension may differ from "
            "the type, which stays what the bytes are). Stored cleaned like an uploaded file's name: line "
            "breaks and other control characters become spaces, runs of white space one space, invisible "
            'format characters and `<>:"|?*` are dropped, slashes and backslashes become dashes (a name, '
            "never a path), leading dots go. At most 200 characters as sent; a name with nothing left once "
            "cleaned is refused (422)."
        )
    )
