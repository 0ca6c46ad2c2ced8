"""Customer bodies."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import EmailStr, Field, StringConstraints

from blink_api.identity.password_policy import DESCRIPTION as PASSWORD_RULE
from blink_api.identity.schemas import NewPassword
from blink_api.kit.schema import Id, Name, RequestModel, ResponseModel


class CustomerCreate(RequestModel):
    name: Name


class CustomerUpdate(RequestModel):
    name: Name = Field(default=None)


class CustomerRead(ResponseModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    updated_at: datetime


# -- customer users ------------------------------------------------------------------------------

Locale = Literal["de", "en"]


class CustomerUserCreate(RequestModel):
    email: EmailStr
    name: Name
    password: NewPassword | None = Field(
        default=None,
        description="Without a password, an invitation mail with a single-use set-password link is sent. "
        + PASSWORD_RULE,
    )
    locale: Locale = "de"


class CustomerUserUpdate(RequestModel):
    email: EmailStr = Field(default=None)
    name: Name = Field(default=None)
    password: NewPassword = Field(default=None, description="Logs out every session. " + PASSWORD_RULE)
    is_active: bool = Field(default=None, description="Deactivating takes effect on the very next request.")
    locale: Locale = Field(default=None)


class CustomerUserRead(ResponseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    email: str
    name: str
    is_active: bool
    locale: str
    site_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


class SiteAssignment(RequestModel):
    site_ids: list[Id] = Field(max_length=10_000, description="Replaces the user's sites.")


class SiteAssignmentRead(ResponseModel):
    site_ids: list[uuid.UUID]


# -- portal settings -----------------------------------------------------------------------------

ContentType = Annotated[str, StringConstraints(pattern=r"^[a-z]+/([a-z0-9.+-]+|\*)$", max_length=100)]


class DocumentSourceItem(RequestModel):
    ticket_type_id: Id
    content_types: list[ContentType] | None = Field(
        default=None,
        max_length=50,
        description="Only attachments of these types (`image/*` allowed); null: all.",
    )


class TicketSettings(RequestModel):
    enabled_ticket_type_ids: list[Id] = Field(
        max_length=1000, description="Ticket types customer users may create and see on their sites."
    )
    document_sources: list[DocumentSourceItem] = Field(
        default_factory=list,
        max_length=1000,
        description="Ticket types whose attachments are offered as documents on the customer's sites.",
    )


class TicketSettingsRead(ResponseModel):
    enabled_ticket_type_ids: list[uuid.UUID]
    document_sources: list[DocumentSourceItem]
    warnings: list[str] = Field(description="Types whose tenant owns none of the customer's sites.")


class EvaluationSettings(RequestModel):
    ticket_evaluation_enabled: bool
    group_days: int = Field(ge=1, le=3650, description="How many days of resolution time one bucket holds.")


class EvaluationSettingsRead(ResponseModel):
    ticket_evaluation_enabled: bool
    group_days: int


class ConfigChangeRead(ResponseModel):
    id: uuid.UUID
    customer_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    entity: str
    entity_id: uuid.UUID | None
    action: str
    before: Any
    after: Any
    created_at: datetime
