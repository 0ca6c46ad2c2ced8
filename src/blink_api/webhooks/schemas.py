"""Webhook subscriptions and their deliveries as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from blink_api.kit.schema import Id, RequestModel, ResponseModel, trimmed
from blink_api.notifications.events import EventType

DeliveryStatus = Literal["pending", "delivered", "failed", "dead"]

EVENT_DESCRIPTIONS: dict[EventType, str] = {
    "ticket.created": "a ticket was created",
    "ticket.updated": "a ticket was changed (status, assignee, text …) or rated",
    "ticket.closed": "a ticket was closed (sent besides `ticket.updated`)",
    "ticket.comment_added": "a comment or internal note was added to a ticket",
    "ticket.attachment_added": "a file was attached to a ticket",
    "ticket.sla_breached": "a ticket missed a service-level target",
    "form_submission.completed": "a form submission was completed",
}
_EVENT_LIST = "; ".join(f"`{event}`: {what}" for event, what in EVENT_DESCRIPTIONS.items())
_EVENTS_DESCRIPTION = f"The events this subscription receives. {_EVENT_LIST}."
_URL_DESCRIPTION = (
    "Where deliveries are POSTed: `https`, on a public address (checked now and at every delivery)."
)
_URL = Field(description=_URL_DESCRIPTION, examples=["https://erp.example.com/hooks/blink"])
_EVENTS = Field(min_length=1, max_length=20, description=_EVENTS_DESCRIPTION)
_TENANTS = (
    "Only events of tickets and forms of these tenants; empty: every tenant. Completions of forms about"
    " no site (and of public forms) belong to no tenant: only subscriptions without `tenant_ids` and"
    " `customer_ids` receive them."
)
_CUSTOMERS = "Only events on sites of these customers; empty: every customer."
_DESCRIPTION = "What the subscription is for, for the administrators."
Url = trimmed(min_length=1, max_length=2048)
Description = trimmed(max_length=500)

_WEBHOOK_EXAMPLE = {
    "id": "e1b6d3f8-2a47-4c9e-8f15-4d7a0c2b9e61",
    "url": "https://erp.example.com/hooks/blink",
    "events": ["ticket.created", "ticket.closed"],
    "description": "ERP Hanse Immobilien: Abrechnung erledigter Tickets",
    "tenant_ids": ["3f2b8c1e-6d4a-4e9b-9a17-2c5d8e0f1a23"],
    "customer_ids": ["8a6e2f14-3b7c-4d59-8e21-5f0a9c3d7b46"],
    "active": True,
    "disabled_reason": None,
    "created_at": "2026-02-16T08:00:00Z",
    "updated_at": "2026-02-16T08:00:00Z",
}


class WebhookCreate(RequestModel):
    """A new webhook subscription (administrators)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://erp.example.com/hooks/blink",
                    "events": ["ticket.created", "ticket.closed"],
                    "description": "ERP Hanse Immobilien: Abrechnung erledigter Tickets",
                    "customer_ids": ["8a6e2f14-3b7c-4d59-8e21-5f0a9c3d7b46"],
                }
            ]
        }
    )

    url: Url = _URL  # type: ignore[valid-type]
    events: list[EventType] = _EVENTS
    description: Description | None = Field(default=None, description=_DESCRIPTION)  # type: ignore[valid-type]
    tenant_ids: list[Id] = Field(default_factory=list, max_length=100, description=_TENANTS)
    customer_ids: list[Id] = Field(default_factory=list, max_length=100, description=_CUSTOMERS)


class WebhookUpdate(RequestModel):
    """Changes to a webhook subscription: only the fields sent change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"events": ["ticket.created", "ticket.closed", "ticket.sla_breached"]},
                {"active": True},
            ]
        }
    )

    url: Url | None = Field(default=None, description=_URL_DESCRIPTION)  # type: ignore[valid-type]
    events: list[EventType] | None = Field(
        default=None, min_length=1, max_length=20, description=_EVENTS_DESCRIPTION
    )
    description: Description | None = Field(default=None, description=_DESCRIPTION)  # type: ignore[valid-type]
    tenant_ids: list[Id] | None = Field(default=None, max_length=100, description=_TENANTS)
    customer_ids: list[Id] | None = Field(default=None, max_length=100, description=_CUSTOMERS)
    active: bool | None = Field(
        default=None, description="false pauses deliveries; true resumes them (also after a 410)."
    )


class WebhookRead(ResponseModel):
    """A webhook subscription: which events are POSTed, signed, to which URL."""

    model_config = ConfigDict(json_schema_extra={"examples": [_WEBHOOK_EXAMPLE]})

    id: uuid.UUID = Field(description="The subscription's id.")
    url: str = Field(description="Where deliveries are POSTed.")
    events: list[EventType] = Field(description=_EVENTS_DESCRIPTION)
    description: str | None = Field(description=_DESCRIPTION)
    tenant_ids: list[uuid.UUID] = Field(description=_TENANTS)
    customer_ids: list[uuid.UUID] = Field(description=_CUSTOMERS)
    active: bool = Field(description="Whether deliveries are made; a receiver answering 410 turns it off.")
    disabled_reason: str | None = Field(description="Why deliveries stopped, when they did.")
    created_at: datetime = Field(description="When the subscription was created.")
    updated_at: datetime = Field(description="When the subscription was last changed.")


class WebhookCreated(WebhookRead):
    """A new webhook subscription, with its signing secret: the only answer that ever shows it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_WEBHOOK_EXAMPLE, "secret": "whsec_RVhBTVBMRS1zZWNyZXQtbm90LWEtcmVhbC1vbmUtMDA="}]
        }
    )

    secret: str = Field(
        description=(
            "The signing secret (`whsec_…`, Standard Webhooks): shown in this answer only, never again."
        )
    )


_DELIVERY_STATUS = (
    "`pending`: waiting for its next attempt (or being attempted); `delivered`: the receiver answered 2xx; "
    "`failed`: the receiver refused it (any other answer; 410 also disables the subscription), not tried "
    "again; "
    "`dead`: retries for more than 24 hours did not get it through."
)


class DeliveryRead(ResponseModel):
    """One event sent, or to be sent, to a subscription, and how its attempts went."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0f4a8d2c-5e19-4b73-a6d8-3b1e9f7c2a54",
                    "event_id": "b8d2f6a1-3c57-4e09-9b4d-1a6e3f8c5d27",
                    "type": "ticket.closed",
                    "status": "pending",
                    "attempts": 2,
                    "last_status_code": 503,
                    "last_error": "HTTP 503: Service Unavailable",
                    "next_attempt_at": "2026-03-04T08:12:30Z",
                    "created_at": "2026-03-04T08:10:00Z",
                    "delivered_at": None,
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The delivery's id.")
    event_id: uuid.UUID = Field(description="The event's id: the payload's `id` and the `webhook-id` header.")
    type: str = Field(
        description=f"The event type. {_EVENT_LIST}; "
        "`webhook.ping`: a test sent with `POST /webhooks/{webhook_id}/ping`."
    )
    status: DeliveryStatus = Field(description=_DELIVERY_STATUS)
    attempts: int = Field(description="Attempts made so far.")
    last_status_code: int | None = Field(
        description="The HTTP status of the last answer; null when none came."
    )
    last_error: str | None = Field(description="Why the last attempt did not succeed; null after success.")
    next_attempt_at: datetime | None = Field(description="When the next attempt is due, while pending.")
    created_at: datetime = Field(description="When the event happened and the delivery was queued.")
    delivered_at: datetime | None = Field(description="When the receiver accepted it; null until then.")
