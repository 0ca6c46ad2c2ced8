"""What a customer user sees of a ticket: one allow-list for the ticket, its history and the mails.

Everything a customer user is shown about a ticket reads from the declarations below: the ticket
(single read and list), its history (`GET /tickets/{id}/history`) and the mails to customer users.
Whatever is not declared here is not shown (default deny).

- **The ticket**: every field (`TICKET_FIELDS`). SPEC keeps internal notes, other customers' data,
  employees' e-mail addresses and tickets of types not enabled for the customer from customer users;
  none of them is a ticket field, and the assignee (an id, never an address) and the due date are the
  customer's business as much as the status. The rating was given by one of the customer's own users.
- **The history**: the events in `HISTORY_EVENTS`. A change is shown when its field is a ticket field
  the customer sees, so the history never hides what the ticket shows (assignee, due date) and never
  tells more. Events about internal notes are never shown.
- **Values that name things within a scope** (`SCOPED_FIELDS`): the history shows a ticket type only
  if it is enabled for the customer and a site only if it is assigned to the user (what the user would
  see of it elsewhere); any other id is shown as null, and a change that is then null on both sides says
  nothing and is left out. The ticket itself always names an enabled type and an assigned site (or it
  is not visible at all).
- **Mails** to customer users are sent for events the history shows them, and carry only ticket
  fields from `TICKET_FIELDS` (`ticket_values`), the acting person's name and the public comment.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.identity.principals import CustomerUserPrincipal
from blink_api.tickets import repository as repo
from blink_api.tickets.models import Ticket, TicketEvent
from blink_api.tickets.schemas import HistoryEntry

TICKET_FIELDS: frozenset[str] = frozenset(
    {
        "id",
        "number",
        "tenant_id",
        "site_id",
        "ticket_type_id",
        "title",
        "description",
        "status",
        "priority",
        "assignee_id",
        "due_date",
        "created_by",
        "created_at",
        "updated_at",
        "closed_at",
        "rating",
        "sla",
        "schedule_id",
    }
)


@dataclass(frozen=True, slots=True)
class ShownEvent:
    """A kind of history event customer users see, and the fields such an event may name."""

    fields: frozenset[str | None]
    # Events about comments are shown for public comments only: internal notes never.
    public_only: bool = False


_COMMENT = ShownEvent(frozenset({"comment"}), public_only=True)
_ATTACHMENT = ShownEvent(frozenset({"attachment"}))

HISTORY_EVENTS: dict[str, ShownEvent] = {
    "created": ShownEvent(frozenset({None})),
    "updated": ShownEvent(frozenset(TICKET_FIELDS)),
    "comment_added": _COMMENT,
    "comment_edited": _COMMENT,
    "comment_deleted": _COMMENT,
    "attachment_added": _ATTACHMENT,
    "attachment_deleted": _ATTACHMENT,
    # The rating is part of the ticket, which everyone who sees the ticket sees.
    "rated": ShownEvent(frozenset({"rating"})),
    "attachment_renamed": _ATTACHMENT,
    "attachment_replaced": _ATTACHMENT,
    # An inspection form completed the ticket: its PDF is on the ticket, which the customer sees.
    "form_completed": ShownEvent(frozenset({"form_submission"})),
}

# Ticket fields whose values are ids a customer user knows only within its scope, with the statement
# that says which of some ids it knows.
ScopeCheck = Callable[[AsyncSession, CustomerUserPrincipal, set[uuid.UUID]], Awaitable[set[uuid.UUID]]]
SCOPED_FIELDS: dict[str, ScopeCheck] = {
    "ticket_type_id": repo.enabled_type_ids,
    "site_id": repo.assigned_site_ids,
}


def shows_event(event: str, field: str | None, *, public: bool) -> bool:
    """Whether customer users see an event of this kind; `public` is false for internal notes."""
    shown = HISTORY_EVENTS.get(event)
    return shown is not None and field in shown.fields and (public or not shown.public_only)


def history_condition() -> ColumnElement[bool]:
    """`shows_event` as a condition on `ticket_events`."""
    kinds = []
    for event, shown in HISTORY_EVENTS.items():
        named = [f for f in shown.fields if f is not None]
        field_condition = or_(
            TicketEvent.field.in_(sorted(named)) if named else false(),
            TicketEvent.field.is_(None) if None in shown.fields else false(),
        )
        condition = and_(TicketEvent.event == event, field_condition)
        if shown.public_only:
            condition = and_(condition, TicketEvent.public)
        kinds.append(condition)
    return or_(*kinds)


def ticket_values(ticket: Ticket, *fields: str) -> dict[str, Any]:
    """The named fields of `ticket`, each of which customer users must be allowed to see."""
    hidden = [f for f in fields if f not in TICKET_FIELDS]
    if hidden:
        raise ValueError(f"not shown to customer users: {hidden}")
    return {f: getattr(ticket, f) for f in fields}


def _as_id(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


async def history(
    session: AsyncSession, principal: CustomerUserPrincipal, entries: Sequence[HistoryEntry]
) -> list[HistoryEntry]:
    """The entries (already limited to `history_condition`) with ids outside the user's scope as null."""
    known: dict[str, set[uuid.UUID]] = {}
    for field, check in SCOPED_FIELDS.items():
        named = (_as_id(v) for e in entries if e.field == field for v in (e.old_value, e.new_value))
        ids = {i for i in named if i is not None}
        known[field] = await check(session, principal, ids) if ids else set()

    def shown(field: str, value: Any) -> Any:
        return value if _as_id(value) in known[field] else None

    result = []
    for entry in entries:
        if entry.field in SCOPED_FIELDS:
            old, new = shown(entry.field, entry.old_value), shown(entry.field, entry.new_value)
            if old is None and new is None:
                continue
            entry = entry.model_copy(update={"old_value": old, "new_value": new})
        result.append(entry)
    return result
