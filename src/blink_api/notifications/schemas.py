"""Outbox bodies (administration)."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from blink_api.kit.schema import ResponseModel

OutboxState = Literal["pending", "sending", "sent", "dead"]

OUTBOX_STATES = (
    "`pending`: waiting for its next attempt; `sending`: being handed to the mail server now; "
    "`sent`: accepted by the mail server; `dead`: given up after repeated or permanent failures "
    "(an administrator may retry it)."
)


class OutboxMessageRead(ResponseModel):
    """A mail in the outbox: queued with the change that caused it and delivered by a worker."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "4e7b1c9a-8d32-4f65-b0e7-2c9a5d1f8b43",
                    "kind": "customer_closed",
                    "recipient": "malte.hansen@example.org",
                    "subject": "Ticket NORD-001042 wurde geschlossen: Fenster im 3. OG verschmutzt",
                    "state": "dead",
                    "attempts": 8,
                    "next_attempt_at": "2026-03-04T11:40:00Z",
                    "last_error": "gave up after 8 attempts: Connection refused",
                    "created_at": "2026-03-04T09:05:00Z",
                    "sent_at": None,
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The message's id.")
    kind: str = Field(
        description="What the mail is about, e.g. `invitation`, `customer_comment`, `customer_status`, "
        "`customer_closed`, `employee_ticket`, `employee_comment` (a customer user's), "
        "`employee_staff_comment` (a colleague's), `employee_status`, `employee_closed`, "
        "`employee_attachment`."
    )
    recipient: str = Field(description="The one address the mail goes to.")
    subject: str = Field(description="The mail's subject line.")
    state: OutboxState = Field(description=OUTBOX_STATES)
    attempts: int = Field(description="Delivery attempts made so far.")
    next_attempt_at: datetime = Field(description="When the next attempt is due, while the mail is pending.")
    last_error: str | None = Field(description="Why the last attempt failed; null when none did.")
    created_at: datetime = Field(description="When the mail was queued.")
    sent_at: datetime | None = Field(description="When the mail server accepted it; null until then.")
