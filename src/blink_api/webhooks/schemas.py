"""Webhook subscriptions and their deliveries as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from blink_api.kit.schema import Id, RequestModel, ResponseModel, trimmed
from blink_api.notifications.events import EventType

DeliveryStatus = Literal["pending", "delivered", "failed", "dead"]

_URL = Field(
    description=(
        "Where deliveries are POSTed: `https`, on a public address (checked now and at every delivery)."
    ),
    examples=["https://erp.example.com/hooks/blink"],
)
_EVENTS = Field(min_length=1, max_length=20, description="The events this subscription receives.")
_TENANTS = "Only events of tickets and forms of these tenants; empty: every tenant."
_CUSTOMERS = "Only events on sites of these customers; empty: every customer."
Url = trimmed(min_length=1, max_length=2048)
Description = trimmed(max_length=500)


class WebhookCreate(RequestModel):
    url: Url = _URL  # type: ignore[valid-type]
    events: list[EventType] = _EVENTS
    description: Description | None = None  # type: ignore[valid-type]
    tenant_ids: list[Id] = Field(default_factory=list, max_length=100, description=_TENANTS)
    customer_ids: list[Id] = Field(default_factory=list, max_length=100, description=_CUSTOMERS)


class WebhookUpdate(RequestModel):
    url: Url | None = None  # type: ignore[valid-type]
    events: list[EventType] | None = Field(
        default=None, min_length=1, max_length=20, description="The events this subscription receives."
    )
    description: Description | None = None  # type: ignore[valid-type]
    tenant_ids: list[Id] | None = Field(default=None, max_length=100, description=_TENANTS)
    customer_ids: list[Id] | None = Field(default=None, max_length=100, description=_CUSTOMERS)
    active: bool | None = Field(
        default=None, description="false pauses deliveries; true resumes them (also after a 410)."
    )


class WebhookRead(ResponseModel):
    id: uuid.UUID
    url: str
    events: list[EventType]
    description: str | None
    tenant_ids: list[uuid.UUID]
    customer_ids: list[uuid.UUID]
    active: bool = Field(description="Whether deliveries are made; a receiver answering 410 turns it off.")
    disabled_reason: str | None = Field(description="Why deliveries stopped, when they did.")
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description=(
            "The signing secret (`whsec_…`, Standard Webhooks): shown in this answer only, never again."
        )
    )


class DeliveryRead(ResponseModel):
    id: uuid.UUID
    event_id: uuid.UUID = Field(description="The event's id: the payload's `id` and the `webhook-id` header.")
    type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None = Field(description="When the next attempt is due, while pending.")
    created_at: datetime
    delivered_at: datetime | None
