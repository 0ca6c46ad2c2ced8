"""Form template and submission bodies."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

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

Subject = Literal["site", "none"]
_SUBJECT = (
    "What the form is filled in about: `site` (the default; inspections, each submission names a "
    "site) or `none` (training records, personnel questionnaires: submissions name no site and raise "
    "no tickets, and only their author and template managers see them)."
)


_TEMPLATE_ID = "c6d83f0a-2e51-4b97-8d4c-91a7e5f2b038"
_SITE_ID = "7a1d4e93-2c58-4b06-8f3a-e1b9c72d5a40"
_SUBMISSION_ID = "a8e15c72-4d9b-4f03-b6a1-3c7e9d2f5b84"
_EMPLOYEE_ID = "e2c71b94-6f3d-4a58-9b20-c4d8a1e57f63"
_TICKET_ID = "5b9e3d17-8c2a-4f64-a1d0-7e3c9b5f2a86"
_PHOTO_ID = "4e8a2d61-9c3f-4b57-a0e2-6d1f8b3c7a95"

_ELEMENTS: list[dict[str, Any]] = [
    {"type": "heading", "key": "treppenhaus", "label": "Treppenhaus"},
    {"type": "yes_no", "key": "fenster_sauber", "label": "Fenster sauber?", "required": True},
    {
        "type": "photo",
        "key": "foto_fenster",
        "label": "Foto der Fenster",
        "visible_if": {"element": "fenster_sauber", "op": "eq", "value": False},
    },
    {
        "type": "ticket",
        "key": "ticket_fenster",
        "label": "Reinigung beauftragen",
        "visible_if": {"element": "fenster_sauber", "op": "eq", "value": False},
        "ticket_type_id": "b54e2f17-9a3c-4d81-b6e0-2f7c8d1a9e35",
        "title": "Fenster reinigen",
        "description_editable": True,
        "attach_pdf": True,
    },
    {"type": "rating", "key": "sauberkeit", "label": "Sauberkeit insgesamt", "required": True},
]
_ANSWERS: dict[str, Any] = {
    "fenster_sauber": False,
    "foto_fenster": _PHOTO_ID,
    "ticket_fenster": {"description": "Fenster 3. OG Nordseite, Treppenhaus."},
    "sauberkeit": 3,
}
_NAME = "Begehung Bürogebäude"
_DESCRIPTION = "Monatliche Sichtprüfung von Treppenhaus und Fenstern."

_PUBLIC_ELEMENTS: list[dict[str, Any]] = [
    {"type": "rating", "key": "zufriedenheit", "label": "Wie zufrieden sind Sie mit der Reinigung?"},
    {"type": "textarea", "key": "hinweise", "label": "Was können wir besser machen?", "max_length": 2000},
]


class TemplateCreate(RequestModel):
    """A form template: its name and its elements, in the order they are filled in. It starts as a
    draft (version 1) until published."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": _NAME, "description": _DESCRIPTION, "is_public": False, "elements": _ELEMENTS},
                {
                    "name": "Ihre Meinung zur Reinigung",
                    "description": "Bürogebäude Hafenstraße 12",
                    "is_public": True,
                    "elements": _PUBLIC_ELEMENTS,
                },
            ]
        }
    )

    name: TemplateName = Field(
        description="The form's name, 1 to 200 characters on one line; the PDF's title and file name."
    )
    description: Description | None = Field(default=None, description="What the form is for, shown above it.")
    is_public: bool = Field(
        default=False, description="Fillable by anyone with the link; no ticket elements then."
    )
    subject: Subject = Field(default="site", description=_SUBJECT + " `none` forms hold no ticket elements.")
    elements: list[Element] = Field(
        default_factory=list,
        max_length=500,
        description="The form's elements in order (at most 500); conditions refer to earlier ones only.",
    )


class TemplateUpdate(RequestModel):
    """Changes the draft; a published version stays as it is and the change becomes the next version.
    Fields left out stay as they are."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"description": "Sichtprüfung von Treppenhaus, Fenstern und Außenanlage."}]
        }
    )

    name: TemplateName = Field(default=None, description="The form's name, 1 to 200 characters on one line.")
    description: Description | None = Field(
        default=None, description="What the form is for; `null` clears it."
    )
    is_public: bool = Field(
        default=None, description="Fillable by anyone with the link; no ticket elements then."
    )
    subject: Subject = Field(
        default=None, description=_SUBJECT + " Changes only before the first publication (409 after)."
    )
    elements: list[Element] = Field(
        default=None, max_length=500, description="Replaces every element (at most 500)."
    )


class TemplateRead(ResponseModel):
    """A form template in one version: the latest (a draft included) for template managers, the
    published one for other employees."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _TEMPLATE_ID,
                    "name": "Ihre Meinung zur Reinigung",
                    "description": "Bürogebäude Hafenstraße 12",
                    "is_public": True,
                    "subject": "site",
                    "elements": _PUBLIC_ELEMENTS,
                    "version": 2,
                    "status": "published",
                    "published_version": 2,
                    "public_token": "q7Vd3kLx9TfR2mWpB8sYcN4hZ1aE6uJo",
                    "created_at": "2026-10-05T07:30:00Z",
                    "updated_at": "2026-11-02T10:12:45.250000Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The template's id, the same in every version.")
    name: str = Field(description="The form's name.")
    description: str | None = Field(description="What the form is for; null when none was given.")
    is_public: bool = Field(description="Fillable by anyone with the link (`public_token`).")
    subject: Subject = Field(description=_SUBJECT)
    elements: list[Element] = Field(description="The form's elements in order.")
    version: int = Field(description="The version shown.")
    status: Literal["draft", "published"] = Field(
        description="Whether the version shown is published. `draft`: still changes in place, not yet "
        "fillable; `published`: frozen, submissions are filled against it."
    )
    published_version: int | None = Field(
        description="The latest published version, the one submissions are filled against; null before "
        "the first publication."
    )
    public_token: str | None = Field(description="Link token of a published public form.")
    created_at: datetime = Field(description="When the template was created.")
    updated_at: datetime = Field(description="When the template last changed.")


class SubmissionCreate(RequestModel):
    """A form to fill in at a site, against the template's published version."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"template_id": _TEMPLATE_ID, "site_id": _SITE_ID, "answers": _ANSWERS, "complete": False},
                {"template_id": _TEMPLATE_ID, "ticket_id": _TICKET_ID, "answers": _ANSWERS, "complete": True},
            ]
        }
    )

    template_id: Id = Field(description="The template to fill in; it must have a published version.")
    site_id: Id | None = Field(
        default=None,
        description="The site the form is filled in for, one of the caller's tenants: required for a "
        "template with `subject` `site` (unless `ticket_id` is given), absent or null for one with `none` "
        "(422 otherwise).",
    )
    ticket_id: Id | None = Field(
        default=None,
        description="Instead of `site_id`: the ticket the inspection is done for (a scheduled one), one the "
        "caller sees that is not closed; the form is filled in on its site, and completing it attaches the "
        "PDF to the ticket and closes it. Only for templates with `subject` `site`.",
    )
    answers: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyed by element key; the value's type is the element's (see the element types).",
    )
    complete: bool = Field(default=False, description="Complete at once (raises the tickets).")


class SubmissionUpdate(RequestModel):
    """Changes a draft submission; fields left out stay as they are."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"answers": {**_ANSWERS, "sauberkeit": 4}}]})

    site_id: Id = Field(
        default=None,
        description="Another site of the caller's tenants (422 for a template with `subject` `none` and for "
        "a submission started from a ticket).",
    )
    answers: dict[str, Any] = Field(default=None, description="Replaces the answers.")


class SubmissionRead(ResponseModel):
    """A filled-in form."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _SUBMISSION_ID,
                    "template_id": _TEMPLATE_ID,
                    "template_version": 2,
                    "site_id": _SITE_ID,
                    "status": "completed",
                    "answers": _ANSWERS,
                    "ticket_ids": ["3f2b8c1e-5d4a-4e7b-9c21-8a6f0d3e4b57"],
                    "ticket_id": None,
                    "created_by": _EMPLOYEE_ID,
                    "created_at": "2026-11-27T07:55:10.400000Z",
                    "updated_at": "2026-11-27T08:14:03.512000Z",
                    "completed_at": "2026-11-27T08:14:03.512000Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The submission's id.")
    template_id: uuid.UUID = Field(description="The template filled in.")
    template_version: int = Field(description="The template's version filled in (its published one then).")
    site_id: uuid.UUID | None = Field(
        description="The site it was filled in for; null through a public link and for templates with "
        "`subject` `none`."
    )
    status: Literal["draft", "completed"] = Field(
        description="`draft`: still being filled in, its filler may change it; `completed`: done, "
        "its tickets raised, it no longer changes."
    )
    answers: dict[str, Any] = Field(
        description="The answers of the elements shown, keyed by element key (hidden ones are dropped)."
    )
    ticket_ids: list[uuid.UUID] = Field(description="The tickets its completion raised.")
    ticket_id: uuid.UUID | None = Field(
        description="The ticket it was started from, which its completion closes; null for none."
    )
    created_by: uuid.UUID | None = Field(
        description="The employee filling it in; null for a submission through a public link."
    )
    created_at: datetime = Field(description="When it was started.")
    updated_at: datetime = Field(description="When it last changed.")
    completed_at: datetime | None = Field(description="When it was completed; null while a draft.")


class PublicForm(ResponseModel):
    """A published public form as anyone with its link sees it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Ihre Meinung zur Reinigung",
                    "description": "Bürogebäude Hafenstraße 12",
                    "version": 1,
                    "elements": _PUBLIC_ELEMENTS,
                }
            ]
        }
    )

    name: str = Field(description="The form's name.")
    description: str | None = Field(description="What the form is for; null when none was given.")
    version: int = Field(description="The published version shown, the one a submission is filled against.")
    elements: list[Element] = Field(description="The form's elements in order.")


class PublicSubmissionCreate(RequestModel):
    """Answers to a public form; the submission is completed at once."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"answers": {"zufriedenheit": 4, "hinweise": "Bitte auch die Fensterbänke wischen."}}
            ]
        }
    )

    answers: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyed by element key; photos and signatures cannot be answered without a login.",
    )


class PublicSubmissionRead(ResponseModel):
    """The receipt of a public form's submission."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": _SUBMISSION_ID, "status": "completed", "completed_at": "2026-11-27T16:03:22.918000Z"}
            ]
        }
    )

    id: uuid.UUID = Field(description="The submission's id.")
    status: Literal["completed"] = Field(description="`completed`: a public submission is completed at once.")
    completed_at: datetime = Field(description="When it was submitted.")


class ReportAuthor(ResponseModel):
    """Who completed the report: its name only (customer users never see employees' e-mail addresses)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Erika Muster"}]})

    name: str = Field(description="The name of the employee who filled in and completed the form.")


class ReportRead(ResponseModel):
    """An inspection report: a completed form submission of a template the site's customer chose
    (`report_template_ids`); its PDF is `GET /form-submissions/{submission_id}/pdf`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _SUBMISSION_ID,
                    "template_name": _NAME,
                    "completed_at": "2026-11-27T08:14:03.512000Z",
                    "completed_by": {"name": "Erika Muster"},
                    "ticket_ids": ["3f2b8c1e-5d4a-4e7b-9c21-8a6f0d3e4b57"],
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The form submission's id (its PDF: `GET /form-submissions/{id}/pdf`).")
    template_name: str = Field(description="The form's name in the version that was filled in.")
    completed_at: datetime = Field(description="When the form was completed.")
    completed_by: ReportAuthor = Field(description="Who completed it.")
    ticket_ids: list[uuid.UUID] = Field(
        description="The tickets its completion raised that the caller sees (for customer users: those "
        "of types enabled for its customer); the others are left out."
    )
