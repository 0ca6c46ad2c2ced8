"""Service-level clocks of tickets: which policy applies, when each target is due, met, paused or breached.

A ticket gets the most specific policy of its tenant that matches it (every criterion the policy sets
must match the ticket's customer, type and priority; more criteria set win; between equals the oldest
policy). Its targets are worked out once, in business time of the tenant's calendar, and stored:

- first response: due `first_response_minutes` after creation; met by the first public comment of an
  employee (closing the ticket meets it too: the answer the customer waited for has come);
- resolution: due `resolution_minutes` after creation; met by closing. While the ticket is `waiting`
  the clock pauses, and leaving `waiting` moves the due time by the business time it was paused.
  Re-opening a closed ticket starts the clock again with the business time that was left when it was
  closed (none when it was closed late).

The resolution due time is always `_add(calendar, anchor, policy minutes + credit)`: the anchor is the
creation or the last re-opening, the credit the paused business time less what was used before a
re-opening. So a changed policy or calendar gives every open ticket its due times again from what is
stored (`recompute`), and a pause or a re-opening only moves the anchor or the credit.

A target's state is read against now: `met` (met in time), `breached` (met late, or its due time has
passed unmet; a pause that began after the due time had passed does not hide it), `paused`, `running`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, String, and_, case, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Site
from blink_api.identity.models import Employee
from blink_api.kit.business_time import Calendar, NoBusinessTime
from blink_api.kit.sql_json import JsonText, json_object, sql_string
from blink_api.tenants.business_hours import calendar_for
from blink_api.tickets.models import Ticket, TicketComment
from blink_api.tickets.sla_models import SlaPolicy

TargetState = Literal["running", "paused", "met", "breached"]
TARGETS = ("first_response", "resolution")

STATE_VALUES = (
    "`running`: the clock runs, the due time lies ahead; `paused`: the ticket is `waiting` on the "
    "customer and the resolution clock stands still; `met`: met by its due time; `breached`: its due "
    "time passed before it was met."
)


def target_state(
    due_at: dt.datetime, met_at: dt.datetime | None, paused_at: dt.datetime | None, now: dt.datetime
) -> TargetState:
    if met_at is not None:
        return "met" if met_at <= due_at else "breached"
    if paused_at is not None:
        return "breached" if due_at <= paused_at else "paused"
    return "breached" if due_at <= now else "running"


def _state_sql(
    due: ColumnElement[Any], met: ColumnElement[Any], paused: ColumnElement[Any] | None
) -> ColumnElement[str]:
    """`target_state` in SQL, against the transaction's `now()` (null without a due time)."""
    whens: list[tuple[ColumnElement[bool], ColumnElement[str]]] = [
        (due.is_(None), literal_column("NULL", String)),
        (and_(met.is_not(None), met <= due), sql_string("met")),
        (met.is_not(None), sql_string("breached")),
    ]
    if paused is not None:
        whens += [
            (and_(paused.is_not(None), due <= paused), sql_string("breached")),
            (paused.is_not(None), sql_string("paused")),
        ]
    whens.append((due <= func.now(), sql_string("breached")))
    return case(*whens, else_=sql_string("running"))


FIRST_RESPONSE_STATE = _state_sql(Ticket.sla_first_response_due_at, Ticket.sla_first_response_met_at, None)
RESOLUTION_STATE = _state_sql(
    Ticket.sla_resolution_due_at, Ticket.sla_resolution_met_at, Ticket.sla_resolution_paused_at
)

TICKET_STATE = case(
    (
        or_(sql_string("breached") == FIRST_RESPONSE_STATE, sql_string("breached") == RESOLUTION_STATE),
        sql_string("breached"),
    ),
    (sql_string("paused") == RESOLUTION_STATE, sql_string("paused")),
    (
        or_(sql_string("running") == FIRST_RESPONSE_STATE, sql_string("running") == RESOLUTION_STATE),
        sql_string("running"),
    ),
    (
        or_(sql_string("met") == FIRST_RESPONSE_STATE, sql_string("met") == RESOLUTION_STATE),
        sql_string("met"),
    ),
    else_=literal_column("NULL", String),
)
"""A ticket's state over both targets (what `sla_state` filters by): `breached` when a target is,
else `paused` when resolution is, else `running` when a target is, else `met`; null without targets."""

TICKET_STATE_DESCRIPTION = (
    "Only tickets whose service level is in this state, over both targets: `breached`: a target's due "
    "time passed before it was met (or passes now, unmet); `paused`: none breached and the resolution "
    "clock stands still while the ticket is `waiting`; `running`: none breached or paused and a target's "
    "clock runs; `met`: every target met in time. Tickets without a policy match none."
)


def _target_json(
    due: ColumnElement[Any], met: ColumnElement[Any], state: ColumnElement[str]
) -> ColumnElement[str]:
    return case(
        (due.is_(None), literal_column("NULL", String)),
        else_=json_object({"due_at": due, "met_at": met, "state": state}),
    )


def has_sla(ticket: Any) -> bool:
    return (
        ticket.sla_policy_id is not None
        or ticket.sla_first_response_due_at is not None
        or ticket.sla_resolution_due_at is not None
    )


SLA_JSON = case(
    (
        and_(
            Ticket.sla_policy_id.is_(None),
            Ticket.sla_first_response_due_at.is_(None),
            Ticket.sla_resolution_due_at.is_(None),
        ),
        literal_column("NULL", String),
    ),
    else_=json_object(
        {
            "policy_id": Ticket.sla_policy_id,
            "first_response": JsonText(
                _target_json(
                    Ticket.sla_first_response_due_at, Ticket.sla_first_response_met_at, FIRST_RESPONSE_STATE
                )
            ),
            "resolution": JsonText(
                _target_json(Ticket.sla_resolution_due_at, Ticket.sla_resolution_met_at, RESOLUTION_STATE)
            ),
        }
    ),
)
"""The ticket's `sla` block as JSON text, written by PostgreSQL for the list (`sla_value` for one)."""


def sla_value(ticket: Any, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """The ticket's `sla` block, read off the ORM object against `now`."""
    if not has_sla(ticket):
        return None
    now = now or dt.datetime.now(dt.UTC)

    def target(name: str) -> dict[str, Any] | None:
        due = getattr(ticket, f"sla_{name}_due_at")
        if due is None:
            return None
        met = getattr(ticket, f"sla_{name}_met_at")
        paused = ticket.sla_resolution_paused_at if name == "resolution" else None
        return {"due_at": due, "met_at": met, "state": target_state(due, met, paused, now)}

    return {
        "policy_id": ticket.sla_policy_id,
        "first_response": target("first_response"),
        "resolution": target("resolution"),
    }


# --- Which policy applies -------------------------------------------------------------------------


async def customer_of_site(session: AsyncSession, site_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(Site.customer_id).where(Site.id == site_id))


async def matching_policy(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    customer_id: uuid.UUID | None,
    ticket_type_id: uuid.UUID,
    priority: str | None,
) -> SlaPolicy | None:
    """The most specific policy of the tenant matching these values; between equals the oldest."""
    specificity = (
        case((SlaPolicy.customer_id.is_not(None), 1), else_=0)
        + case((SlaPolicy.ticket_type_id.is_not(None), 1), else_=0)
        + case((SlaPolicy.priority.is_not(None), 1), else_=0)
    )
    stmt = (
        select(SlaPolicy)
        .where(
            SlaPolicy.tenant_id == tenant_id,
            or_(SlaPolicy.customer_id.is_(None), SlaPolicy.customer_id == customer_id),
            or_(SlaPolicy.ticket_type_id.is_(None), SlaPolicy.ticket_type_id == ticket_type_id),
            or_(SlaPolicy.priority.is_(None), SlaPolicy.priority == priority),
        )
        .order_by(specificity.desc(), SlaPolicy.created_at, SlaPolicy.id)
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def policy_for(session: AsyncSession, ticket: Ticket) -> SlaPolicy | None:
    customer_id = await customer_of_site(session, ticket.site_id)
    return await matching_policy(
        session, ticket.tenant_id, customer_id, ticket.ticket_type_id, ticket.priority
    )


# --- Working the clocks out -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the history says of a ticket's service level before and after a change."""

    policy_id: uuid.UUID | None
    first_response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None

    @classmethod
    def of(cls, ticket: Ticket) -> Snapshot:
        return cls(ticket.sla_policy_id, ticket.sla_first_response_due_at, ticket.sla_resolution_due_at)

    def json(self) -> dict[str, Any]:
        return {
            "policy_id": str(self.policy_id) if self.policy_id else None,
            "first_response_due_at": iso(self.first_response_due_at),
            "resolution_due_at": iso(self.resolution_due_at),
        }


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _add(calendar: Calendar, start: dt.datetime, business: dt.timedelta) -> dt.datetime:
    """`calendar.add`; a calendar without open time (none set on any weekday) is never due."""
    try:
        return calendar.add(start, business)
    except NoBusinessTime:
        return NEVER


NEVER = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)
"""The due time of a target whose calendar never opens: it never breaches."""


def _seconds(minutes: int) -> int:
    return minutes * 60


def start(ticket: Ticket, policy: SlaPolicy | None, calendar: Calendar, created_at: dt.datetime) -> None:
    """A new ticket's targets under `policy` (none without one)."""
    ticket.sla_policy_id = policy.id if policy else None
    fr = policy.first_response_minutes if policy else None
    ticket.sla_first_response_due_at = (
        _add(calendar, created_at, dt.timedelta(seconds=_seconds(fr))) if fr is not None else None
    )
    ticket.sla_first_response_met_at = None
    ticket.sla_first_response_breached_at = None
    res = policy.resolution_minutes if policy else None
    if res is None:
        _clear_resolution(ticket)
        return
    ticket.sla_resolution_anchor_at = created_at
    ticket.sla_resolution_credit_seconds = 0
    ticket.sla_resolution_paused_at = None
    ticket.sla_resolution_met_at = None
    ticket.sla_resolution_breached_at = None
    ticket.sla_resolution_due_at = _add(calendar, created_at, dt.timedelta(seconds=_seconds(res)))


def _clear_resolution(ticket: Ticket) -> None:
    ticket.sla_resolution_due_at = None
    ticket.sla_resolution_met_at = None
    ticket.sla_resolution_breached_at = None
    ticket.sla_resolution_paused_at = None
    ticket.sla_resolution_anchor_at = None
    ticket.sla_resolution_credit_seconds = None


def recompute(
    ticket: Ticket,
    policy: SlaPolicy | None,
    calendar: Calendar,
    *,
    first_reply_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Gives the ticket `policy` (another, the same changed, or none) and works out the due times of
    its unmet targets again from what is stored; met targets stay as they were. True when the policy
    or a due time changed.

    `first_reply_at`: the ticket's first public comment of an employee, if any: a first-response
    target the ticket had none of until now is met by it. A breach already recorded stays recorded
    while the new due time has passed too (it is not announced again); one that moved into the future
    is forgotten."""
    now = now or dt.datetime.now(dt.UTC)
    before = Snapshot.of(ticket)
    ticket.sla_policy_id = policy.id if policy else None
    fr = policy.first_response_minutes if policy else None
    if ticket.sla_first_response_met_at is None:
        if fr is None:
            ticket.sla_first_response_due_at = None
            ticket.sla_first_response_breached_at = None
        else:
            due = _add(calendar, ticket.created_at, dt.timedelta(seconds=_seconds(fr)))
            if due != ticket.sla_first_response_due_at:
                ticket.sla_first_response_due_at = due
                if due > now:
                    ticket.sla_first_response_breached_at = None
            if first_reply_at is not None:
                ticket.sla_first_response_met_at = first_reply_at
    res = policy.resolution_minutes if policy else None
    if ticket.sla_resolution_met_at is None or ticket.status != "closed":
        if res is None:
            _clear_resolution(ticket)
        else:
            if ticket.sla_resolution_anchor_at is None:
                ticket.sla_resolution_anchor_at = ticket.created_at
                ticket.sla_resolution_credit_seconds = 0
            budget = max(0, _seconds(res) + (ticket.sla_resolution_credit_seconds or 0))
            due = _add(calendar, ticket.sla_resolution_anchor_at, dt.timedelta(seconds=budget))
            if due != ticket.sla_resolution_due_at:
                ticket.sla_resolution_due_at = due
                if due > now:
                    ticket.sla_resolution_breached_at = None
    return Snapshot.of(ticket) != before


async def first_replies(session: AsyncSession, ticket_ids: list[uuid.UUID]) -> dict[uuid.UUID, dt.datetime]:
    """When each of the tickets got its first public comment of an employee (those that got one)."""
    if not ticket_ids:
        return {}
    employees = Employee.__table__
    rows = await session.execute(
        select(TicketComment.ticket_id, func.min(TicketComment.created_at))
        .join(employees, employees.c.id == TicketComment.author_id)
        .where(TicketComment.ticket_id.in_(ticket_ids), TicketComment.internal.is_(False))
        .group_by(TicketComment.ticket_id)
    )
    return dict(rows.all())  # a Result has keys(): dict() would take it for a mapping


def status_changed(
    ticket: Ticket, policy_minutes: int | None, old: str, new: str, calendar: Calendar, now: dt.datetime
) -> None:
    """The clocks through a status change from `old` to `new` at `now`; `policy_minutes` are the
    resolution minutes of the ticket's policy (None when it has none any more)."""
    first_unmet = ticket.sla_first_response_due_at is not None and ticket.sla_first_response_met_at is None
    if first_unmet and new == "closed":
        ticket.sla_first_response_met_at = now
    if ticket.sla_resolution_due_at is None:
        return
    # Leaving `waiting`: the due time moves by the business time the clock stood still. A due time the
    # calendar never reaches (NEVER) stays where it is, but the clock runs again all the same.
    if ticket.sla_resolution_paused_at is not None and new != "waiting":
        paused = calendar.between(ticket.sla_resolution_paused_at, now)
        ticket.sla_resolution_credit_seconds = (ticket.sla_resolution_credit_seconds or 0) + int(
            paused.total_seconds()
        )
        ticket.sla_resolution_paused_at = None
        if ticket.sla_resolution_anchor_at is not None and policy_minutes is not None:
            budget = max(0, _seconds(policy_minutes) + ticket.sla_resolution_credit_seconds)
            ticket.sla_resolution_due_at = _add(
                calendar, ticket.sla_resolution_anchor_at, dt.timedelta(seconds=budget)
            )
        elif ticket.sla_resolution_due_at < NEVER:
            ticket.sla_resolution_due_at = _add(calendar, ticket.sla_resolution_due_at, paused)
    # Re-opening: the clock starts again from now with what was left at closing.
    if old == "closed" and new != "closed" and ticket.sla_resolution_met_at is not None:
        met, due = ticket.sla_resolution_met_at, ticket.sla_resolution_due_at
        if due >= NEVER:
            ticket.sla_resolution_met_at = None
            return
        left = calendar.between(met, due) if met < due else dt.timedelta(0)
        minutes = policy_minutes if policy_minutes is not None else 0
        ticket.sla_resolution_anchor_at = now
        ticket.sla_resolution_credit_seconds = int(left.total_seconds()) - _seconds(minutes)
        ticket.sla_resolution_due_at = _add(calendar, now, left)
        ticket.sla_resolution_met_at = None
        if left > dt.timedelta(0):
            ticket.sla_resolution_breached_at = None
    if new == "closed" and ticket.sla_resolution_met_at is None:
        ticket.sla_resolution_met_at = now
    if new == "waiting" and ticket.sla_resolution_met_at is None:
        ticket.sla_resolution_paused_at = now


async def calendar_of(session: AsyncSession, tenant_id: uuid.UUID) -> Calendar:
    return await calendar_for(session, tenant_id)
