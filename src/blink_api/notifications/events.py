"""What happened, told to whoever listens, inside the transaction of the change.

A domain says what happened (`publish`); listeners of later layers (webhooks) register themselves and
write what they owe into the same session, so a change that rolls back leaves nothing behind. The
event carries the changed row itself: a listener reads from it what it needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal, get_args

from sqlalchemy.ext.asyncio import AsyncSession

EventType = Literal[
    "ticket.created",
    "ticket.updated",
    "ticket.closed",
    "ticket.comment_added",
    "ticket.attachment_added",
    "ticket.sla_breached",
    "form_submission.completed",
]
EVENT_TYPES: Final[tuple[EventType, ...]] = get_args(EventType)


@dataclass(frozen=True, slots=True)
class Event:
    type: EventType
    # Whose tenant and customer it concerns; None for what concerns no site (a submission of a form
    # about none, or of a public form).
    site_id: uuid.UUID | None
    subject: object  # the row: a ticket, comment, attachment or form submission


Listener = Callable[[AsyncSession, Event], Awaitable[None]]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Register `listener` for every event (once, however often it is registered)."""
    if listener not in _listeners:
        _listeners.append(listener)


async def publish(session: AsyncSession, event: Event) -> None:
    for listener in _listeners:
        await listener(session, event)
