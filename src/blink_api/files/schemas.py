"""Attachment bodies."""

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from blink_api.kit.schema import ResponseModel

_ATTACHMENT_EXAMPLE = {
    "id": "a3c9e5f7-1b2d-4e68-8a04-6f3b7d9c1e25",
    "ticket_id": "d5f1a8c3-7e92-4b46-9c30-8a2e4d6b1f79",
    "filename": "Treppenhaus-EG.jpg",
    "content_type": "image/jpeg",
    "size": 284731,
    "created_at": "2026-03-03T07:55:00Z",
    "created_by": "1d7c4b9e-8a25-4f03-b6e1-3c9f5a2d8e74",
}


class AttachmentRead(ResponseModel):
    """A file on a ticket, or uploaded to be used by a form; its content is at
    `GET /attachments/{attachment_id}/content`."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ATTACHMENT_EXAMPLE]})

    id: uuid.UUID = Field(description="The attachment's id.")
    ticket_id: uuid.UUID | None = Field(
        description="The ticket the file is attached to; null for an upload no ticket uses (yet)."
    )
    filename: str = Field(description="The file's name, as uploaded or renamed.")
    content_type: str = Field(description="The file's media type, as its content shows it.")
    size: int = Field(description="The stored file's size in bytes.")
    created_at: datetime = Field(description="When the file was uploaded.")
    created_by: uuid.UUID = Field(description="The account that uploaded it.")


class AttachmentList(ResponseModel):
    """The files just stored, in the order they were sent."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        _ATTACHMENT_EXAMPLE,
                        {
                            **_ATTACHMENT_EXAMPLE,
                            "id": "5d2e8b4a-9c17-4f36-b8e2-0a6c3f9d7e14",
                            "filename": "Mängelprotokoll.pdf",
                            "content_type": "application/pdf",
                            "size": 91204,
                        },
                    ]
                }
            ]
        }
    )

    items: list[AttachmentRead] = Field(description="One attachment per file sent.")
