"""Form template and submission bodies."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints

from blink_api.forms.elements import Element
from blink_api.kit.schema import Id, Name, RequestModel, ResponseModel, Text

Description = Annotated[str, StringConstraints(max_length=5000)]
# The link token of a public form (`public_token`); an unknown one is 404, text it cannot be is 422.
PublicToken = Annotated[Text, StringConstraints(max_length=200)]


def _single_line(value: str) -> str:
    """The name becomes the PDF's title and file name (a header): one line, no control characters.
    (Invisible formatting characters are allowed here and dropped from the file name.)"""
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value):
        raise ValueError("The name must be one line without control characters.")
    return value


TemplateName = Annotated[Name, AfterValidator(_single_line)]


class TemplateCreate(RequestModel):
    name: TemplateName
    description: Description | None = None
    is_public: bool = Field(
        default=False, description="Fillable by anyone with the link; no ticket elements then."
    )
    elements: list[Element] = Field(default_factory=list, max_length=500)


class TemplateUpdate(RequestModel):
    """Changes the draft; a published version stays as it is and the change becomes the next version."""

    name: TemplateName = Field(default=None)
    description: Description | None = None
    is_public: bool = Field(default=None)
    elements: list[Element] = Field(default=None, max_length=500)


class TemplateRead(ResponseModel):
    id: uuid.UUID
    name: str
    description: str | None
    is_public: bool
    elements: list[Element]
    version: int = Field(description="The version shown.")
    status: Literal["draft", "published"] = Field(description="Whether the version shown is published.")
    published_version: int | None
    public_token: str | None = Field(description="Link token of a published public form.")
    created_at: datetime
    updated_at: datetime


class SubmissionCreate(RequestModel):
    template_id: Id
    site_id: Id
    answers: dict[str, Any] = Field(default_factory=dict, description="Keyed by element key.")
    complete: bool = Field(default=False, description="Complete at once (raises the tickets).")


class SubmissionUpdate(RequestModel):
    site_id: Id = Field(default=None)
    answers: dict[str, Any] = Field(default=None, description="Replaces the answers.")


class SubmissionRead(ResponseModel):
    id: uuid.UUID
    template_id: uuid.UUID
    template_version: int
    site_id: uuid.UUID | None
    status: Literal["draft", "completed"]
    answers: dict[str, Any]
    ticket_ids: list[uuid.UUID]
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class PublicForm(ResponseModel):
    name: str
    description: str | None
    version: int
    elements: list[Element]


class PublicSubmissionCreate(RequestModel):
    answers: dict[str, Any] = Field(default_factory=dict)


class PublicSubmissionRead(ResponseModel):
    id: uuid.UUID
    status: Literal["completed"]
    completed_at: datetime
