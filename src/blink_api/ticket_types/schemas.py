"""Ticket type bodies."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, Strict

from blink_api.kit.schema import Id, Name, RequestModel, ResponseModel
from blink_api.ticket_types.models import TicketCategory

_TENANT = "The tenant that owns the type; its sites' tickets may be of this type."
_NAME = "The type's name, unique within its tenant."
_CATEGORY = (
    "`standard`: work on a site, such as cleaning, repairs or complaints; `absence`: an employee's leave "
    "or sick note, never offered in the customer portal."
)


class TicketTypeCreate(RequestModel):
    """A new ticket type of a tenant (administrators)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"tenant_id": "3f2b8c1e-6d4a-4e9b-9a17-2c5d8e0f1a23", "name": "Unterhaltsreinigung"},
                {
                    "tenant_id": "3f2b8c1e-6d4a-4e9b-9a17-2c5d8e0f1a23",
                    "name": "Urlaubsantrag",
                    "category": "absence",
                },
            ]
        }
    )

    tenant_id: Id = Field(description=_TENANT)
    name: Name = Field(description=_NAME)
    category: Annotated[TicketCategory, Strict(False)] = Field(
        default=TicketCategory.standard, description=_CATEGORY + " Fixed once the type exists."
    )


class TicketTypeUpdate(RequestModel):
    """Tenant and category are fixed once the type exists: tickets and portal settings rely on them."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Unterhaltsreinigung (wöchentlich)"}]})

    name: Name = Field(default=None, description=_NAME)


class TicketTypeRead(ResponseModel):
    """A ticket type: what a ticket is about, per tenant."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5b9f0d3c-2e71-4a86-b4c8-1e6a3f9d2c57",
                    "tenant_id": "3f2b8c1e-6d4a-4e9b-9a17-2c5d8e0f1a23",
                    "name": "Unterhaltsreinigung",
                    "category": "standard",
                    "created_at": "2026-01-05T09:10:00Z",
                    "updated_at": "2026-01-05T09:10:00Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The ticket type's id.")
    tenant_id: uuid.UUID = Field(description=_TENANT)
    name: str = Field(description=_NAME)
    category: TicketCategory = Field(description=_CATEGORY)
    created_at: datetime = Field(description="When the type was created.")
    updated_at: datetime = Field(description="When the type was last changed.")
