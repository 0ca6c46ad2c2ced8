"""Outbox bodies (administration)."""

import uuid
from datetime import datetime
from typing import Literal

from blink_api.kit.schema import ResponseModel

OutboxState = Literal["pending", "sending", "sent", "dead"]


class OutboxMessageRead(ResponseModel):
    id: uuid.UUID
    kind: str
    recipient: str
    subject: str
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
