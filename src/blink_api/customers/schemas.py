"""Customer bodies."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, EmailStr, Field, StringConstraints

from blink_api.identity.password_policy import DESCRIPTION as PASSWORD_RULE
from blink_api.identity.schemas import NewPassword
from blink_api.kit.schema import Id, Name, RequestModel, ResponseModel

_CUSTOMER_NAME = "The customer company's name."


class CustomerCreate(RequestModel):
    """A new customer of the customer portal."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Hanse Immobilien KG"}]})

    name: Name = Field(description=_CUSTOMER_NAME)


class CustomerUpdate(RequestModel):
    """Changes to a customer: only the fields sent change."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Hanse Immobilien GmbH & Co. KG"}]})

    name: Name = Field(default=None, description=_CUSTOMER_NAME)


class CustomerRead(ResponseModel):
    """A customer: a company whose sites the service company serves and whose users log in to the portal."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "8a6e2f14-3b7c-4d59-8e21-5f0a9c3d7b46",
                    "name": "Hanse Immobilien KG",
                    "created_at": "2026-01-06T10:00:00Z",
                    "updated_at": "2026-01-06T10:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The customer's id.")
    name: str = Field(description=_CUSTOMER_NAME)
    created_at: datetime = Field(description="When the customer was created.")
    updated_at: datetime = Field(description="When the customer was last changed.")


# -- customer users ------------------------------------------------------------------------------

Locale = Literal["de", "en"]

_EMAIL = "The address the user logs in with and receives mails at; unique among all accounts."
_USER_NAME = "The user's name, as employees see it on tickets and comments."
_LOCALE = "The language of the user's mails. `de`: German; `en`: English."


class CustomerUserCreate(RequestModel):
    """A new portal log-in for a customer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "malte.hansen@example.org", "name": "Malte Hansen", "locale": "de"}]
        }
    )

    email: EmailStr = Field(description=_EMAIL)
    name: Name = Field(description=_USER_NAME)
    password: NewPassword | None = Field(
        default=None,
        description="Without a password, an invitation mail with a single-use set-password link is sent. "
        + PASSWORD_RULE,
    )
    locale: Locale = Field(default="de", description=_LOCALE)


class CustomerUserUpdate(RequestModel):
    """Changes to a customer user: only the fields sent change."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Malte Hansen-Berg", "locale": "en"}, {"is_active": False}]}
    )

    email: EmailStr = Field(default=None, description=_EMAIL)
    name: Name = Field(default=None, description=_USER_NAME)
    password: NewPassword = Field(default=None, description="Logs out every session. " + PASSWORD_RULE)
    is_active: bool = Field(default=None, description="Deactivating takes effect on the very next request.")
    locale: Locale = Field(default=None, description=_LOCALE)


class CustomerUserRead(ResponseModel):
    """A customer user (Kundenbenutzer): a portal log-in of a customer, seeing only its assigned sites."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "6f8e2a4d-1c93-4b7a-9d05-e2b7c6a1f348",
                    "customer_id": "8a6e2f14-3b7c-4d59-8e21-5f0a9c3d7b46",
                    "email": "malte.hansen@example.org",
                    "name": "Malte Hansen",
                    "is_active": True,
                    "locale": "de",
                    "site_ids": ["c4d1e7a2-9f38-4b60-a5e3-7d2b6f1c8e90"],
                    "created_at": "2026-01-07T11:30:00Z",
                    "updated_at": "2026-01-07T11:30:00Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The customer user's id.")
    customer_id: uuid.UUID = Field(description="The customer the user belongs to.")
    email: str = Field(description=_EMAIL)
    name: str = Field(description=_USER_NAME)
    is_active: bool = Field(description="Whether the user may log in; deactivated users stay on record.")
    locale: str = Field(description=_LOCALE)
    site_ids: list[uuid.UUID] = Field(
        description="The sites assigned to the user: all it sees in the portal."
    )
    created_at: datetime = Field(description="When the user was created.")
    updated_at: datetime = Field(description="When the user was last changed.")


_SITES_EXAMPLE = {
    "site_ids": ["c4d1e7a2-9f38-4b60-a5e3-7d2b6f1c8e90", "f2a7c5e9-3d18-4b6a-9e40-8c1d5b7a3f62"]
}


class SiteAssignment(RequestModel):
    """The sites a customer user sees, replacing the ones it had."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SITES_EXAMPLE]})

    site_ids: list[Id] = Field(
        max_length=10_000, description="Replaces the user's sites; only sites of the user's customer."
    )


class SiteAssignmentRead(ResponseModel):
    """The sites assigned to a customer user."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SITES_EXAMPLE]})

    site_ids: list[uuid.UUID] = Field(description="The sites the user sees in the portal.")


# -- portal settings -----------------------------------------------------------------------------

ContentType = Annotated[str, StringConstraints(pattern=r"^[a-z]+/([a-z0-9.+-]+|\*)$", max_length=100)]

_ENABLED = "Ticket types customer users may create and see on their sites."
_SOURCES = "Ticket types whose attachments are offered as documents on the customer's sites."
_REPORTS = (
    "Form templates whose completed submissions on the customer's sites its users read as inspection "
    "reports (`GET /sites/{site_id}/reports`) and download as PDF; at most 200."
)
_REPORT_TEMPLATE_ID = "c6d83f0a-2e51-4b97-8d4c-91a7e5f2b038"
_DOCUMENT_SOURCE = {
    "ticket_type_id": "9e3a7c15-6f2d-4b84-8c19-0d5e2a7b4f63",
    "content_types": ["application/pdf", "image/*"],
}


class DocumentSourceItem(RequestModel):
    """A ticket type whose attachments the customer's users may download from their sites."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DOCUMENT_SOURCE]})

    ticket_type_id: Id = Field(description="The ticket type; not an absence type.")
    content_types: list[ContentType] | None = Field(
        default=None,
        max_length=50,
        description="Only attachments of these types (`image/*` allowed); null: all.",
    )


class TicketSettings(RequestModel):
    """Which ticket types the customer portal offers, replacing the settings as a whole."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enabled_ticket_type_ids": ["5b9f0d3c-2e71-4a86-b4c8-1e6a3f9d2c57"],
                    "document_sources": [_DOCUMENT_SOURCE],
                    "report_template_ids": [_REPORT_TEMPLATE_ID],
                }
            ]
        }
    )

    enabled_ticket_type_ids: list[Id] = Field(max_length=1000, description=_ENABLED)
    document_sources: list[DocumentSourceItem] = Field(
        default_factory=list, max_length=1000, description=_SOURCES
    )
    report_template_ids: list[Id] = Field(
        default_factory=list,
        max_length=200,
        description=_REPORTS + " Left out: none (the settings are replaced as a whole).",
    )


class TicketSettingsRead(ResponseModel):
    """Which ticket types the customer portal offers, with hints on doubtful choices."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enabled_ticket_type_ids": ["5b9f0d3c-2e71-4a86-b4c8-1e6a3f9d2c57"],
                    "document_sources": [_DOCUMENT_SOURCE],
                    "report_template_ids": [_REPORT_TEMPLATE_ID],
                    "warnings": [],
                }
            ]
        }
    )

    enabled_ticket_type_ids: list[uuid.UUID] = Field(description=_ENABLED)
    document_sources: list[DocumentSourceItem] = Field(description=_SOURCES)
    report_template_ids: list[uuid.UUID] = Field(description=_REPORTS)
    warnings: list[str] = Field(description="Types whose tenant owns none of the customer's sites.")


_GROUP_DAYS = "How many days of resolution time one bucket of the evaluation holds."


class EvaluationSettings(RequestModel):
    """Whether the customer's users see the ticket evaluation of their sites, and how it groups."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ticket_evaluation_enabled": True, "group_days": 7}]}
    )

    ticket_evaluation_enabled: bool = Field(
        description="Whether `GET /sites/{site_id}/ticket-evaluation` answers for the customer's users."
    )
    group_days: int = Field(ge=1, le=3650, description=_GROUP_DAYS)


class EvaluationSettingsRead(ResponseModel):
    """The customer's ticket evaluation settings."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ticket_evaluation_enabled": True, "group_days": 7}]}
    )

    ticket_evaluation_enabled: bool = Field(
        description="Whether `GET /sites/{site_id}/ticket-evaluation` answers for the customer's users."
    )
    group_days: int = Field(description=_GROUP_DAYS)


class ConfigChangeRead(ResponseModel):
    """One change of a customer's portal configuration: who changed what, from what to what."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3b8f2d6e-9a14-4c57-a3e8-5d0c7f1b2a96",
                    "customer_id": "8a6e2f14-3b7c-4d59-8e21-5f0a9c3d7b46",
                    "actor_id": "1d7c4b9e-8a25-4f03-b6e1-3c9f5a2d8e74",
                    "entity": "evaluation_settings",
                    "entity_id": "8a6e2f14-3b7c-4d59-8e21-5f0a9c3d7b46",
                    "action": "update",
                    "before": {"ticket_evaluation_enabled": False, "group_days": 7},
                    "after": {"ticket_evaluation_enabled": True, "group_days": 7},
                    "created_at": "2026-02-10T15:20:00Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The change's id.")
    customer_id: uuid.UUID | None = Field(description="The customer whose configuration changed.")
    actor_id: uuid.UUID | None = Field(
        description="The employee who made the change; null once that employee is deleted."
    )
    entity: str = Field(
        description="What changed: `customer`, `customer_user`, `customer_user_sites`, `ticket_settings` "
        "or `evaluation_settings`."
    )
    entity_id: uuid.UUID | None = Field(
        description="The id of what changed (a customer's or a customer user's)."
    )
    action: str = Field(description="`create`, `update` or `delete`.")
    before: Any = Field(description="The state before the change; null for `create`.")
    after: Any = Field(description="The state after the change; null for `delete`.")
    created_at: datetime = Field(description="When the change was made.")
