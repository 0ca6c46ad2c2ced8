"""Service-level policy bodies."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import ConfigDict, Field

from blink_api.kit.schema import Id, Name, RequestModel, ResponseModel
from blink_api.tickets.schemas import PRIORITY_VALUES, Priority
from blink_api.tickets.sla_models import MINUTES_MAX

_TENANT = "The tenant whose tickets the policy applies to; its business hours count the minutes."
_NAME = "The policy's name, unique within its tenant, 1 to 200 characters."
_CUSTOMER = "Only tickets on sites of this customer; null for any customer."
_TYPE = "Only tickets of this ticket type (one of the tenant's); null for any type."
_PRIORITY = f"Only tickets of this priority; null for any. {PRIORITY_VALUES}"
_FIRST = (
    f"Business minutes from reporting to the first public comment of an employee, 1 to {MINUTES_MAX:,}; "
    "null for no first-response target."
)
_RESOLUTION = (
    f"Business minutes from reporting to closing, 1 to {MINUTES_MAX:,}, not counting time `waiting` on the "
    "customer; null for no resolution target."
)
_EXAMPLE = {
    "tenant_id": "0c9e6a52-1b7d-4f38-a2e4-5d81c3f90b16",
    "name": "Reklamationen Kunde Nord",
    "customer_id": "6e3b9a14-7c2d-4f85-b0a6-d91e4c7f2b38",
    "ticket_type_id": "b54e2f17-9a3c-4d81-b6e0-2f7c8d1a9e35",
    "priority": "high",
    "first_response_minutes": 240,
    "resolution_minutes": 1440,
}


class SlaPolicyCreate(RequestModel):
    """A new service-level policy of a tenant (administrators). A ticket gets the most specific policy of
    its tenant whose set criteria (customer, type, priority) all match it: more criteria set win, between
    equals the oldest. At least one of the two targets is required."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _EXAMPLE,
                {"tenant_id": _EXAMPLE["tenant_id"], "name": "Standard", "resolution_minutes": 2700},
            ]
        }
    )

    tenant_id: Id = Field(description=_TENANT)
    name: Name = Field(description=_NAME)
    customer_id: Id | None = Field(default=None, description=_CUSTOMER)
    ticket_type_id: Id | None = Field(default=None, description=_TYPE)
    priority: Priority | None = Field(default=None, description=_PRIORITY)
    first_response_minutes: int | None = Field(default=None, ge=1, le=MINUTES_MAX, description=_FIRST)
    resolution_minutes: int | None = Field(default=None, ge=1, le=MINUTES_MAX, description=_RESOLUTION)


class SlaPolicyUpdate(RequestModel):
    """The fields to change (the tenant stays); `null` clears a criterion or a target. Open tickets of the
    tenant get their due times again in the background, and their history says so."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"resolution_minutes": 960}, {"priority": None, "name": "Alle Prioritäten"}]
        }
    )

    name: Name = Field(default=None, description=_NAME)
    customer_id: Id | None = Field(default=None, description=_CUSTOMER)
    ticket_type_id: Id | None = Field(default=None, description=_TYPE)
    priority: Priority | None = Field(default=None, description=_PRIORITY)
    first_response_minutes: int | None = Field(default=None, ge=1, le=MINUTES_MAX, description=_FIRST)
    resolution_minutes: int | None = Field(default=None, ge=1, le=MINUTES_MAX, description=_RESOLUTION)


class SlaPolicyRead(ResponseModel):
    """A service-level policy: which tickets of a tenant it applies to, and their targets."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "4d9a2c71-8e3b-4f60-a1d5-c7e02b9f3a18",
                    **_EXAMPLE,
                    "created_at": "2026-11-20T08:00:00Z",
                    "updated_at": "2026-11-20T08:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The policy's id.")
    tenant_id: uuid.UUID = Field(description=_TENANT)
    name: str = Field(description=_NAME)
    customer_id: uuid.UUID | None = Field(description=_CUSTOMER)
    ticket_type_id: uuid.UUID | None = Field(description=_TYPE)
    priority: Priority | None = Field(description=_PRIORITY)
    first_response_minutes: int | None = Field(description=_FIRST)
    resolution_minutes: int | None = Field(description=_RESOLUTION)
    created_at: dt.datetime = Field(description="When the policy was created (the older wins a tie).")
    updated_at: dt.datetime = Field(description="When the policy was last changed.")
