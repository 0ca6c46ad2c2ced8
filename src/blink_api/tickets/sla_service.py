"""The service-level clocks through a ticket's life: created, changed, answered, recomputed."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from blink_api.kit.business_time import Calendar
from blink_api.tickets import repository as repo
from blink_api.tickets import sla
from blink_api.tickets.models import Ticket
from blink_api.tickets.sla_models import SlaPolicy

# Changes of these fields may make another policy the most specific match.
MATCHED_FIELDS = ("ticket_type_id", "site_id", "priority")


async def ticket_created(session: AsyncSession, ticket: Ticket) -> bool:
    """Gives a new ticket, before it is first written, the policy that matches it and its due times
    from its creation: the transaction's time, which is what `created_at` would default to. So the
    ticket is written once and starts at version 1. True when a policy applied; the caller records
    that (`record_applied`) once the ticket has its id."""
    policy = await sla.policy_for(session, ticket)
    if policy is None:
        return False
    calendar = await sla.calendar_of(session, ticket.tenant_id)
    ticket.created_at = await session.scalar(select(func.now()))
    sla.start(ticket, policy, calendar, ticket.created_at)
    if ticket.status != "open":
        sla.status_changed(
            ticket, policy.resolution_minutes, "open", ticket.status, calendar, ticket.created_at
        )
    return True


def record_applied(session: AsyncSession, ticket: Ticket, actor_id: uuid.UUID) -> None:
    """The history entry (employees only) of the targets a new ticket was given."""
    repo.add_event(
        session,
        ticket.id,
        actor_id,
        "sla_applied",
        field="sla",
        new=sla.Snapshot.of(ticket).json(),
        public=False,
    )


async def ticket_changed(
    session: AsyncSession,
    ticket: Ticket,
    actor_id: uuid.UUID,
    changed: set[str],
    status: tuple[str, str] | None,
    now: dt.datetime,
) -> None:
    """After a change of `changed` fields (and of the status from, to): the policy matched again when
    type, site or priority changed (the history says so when that changed anything), then the clocks
    through the status change."""
    # The ticket's changes are flushed by the caller, once, where a stale version is caught: nothing here
    # may flush them early.
    with session.no_autoflush:
        await _ticket_changed(session, ticket, actor_id, changed, status, now)


async def _ticket_changed(
    session: AsyncSession,
    ticket: Ticket,
    actor_id: uuid.UUID,
    changed: set[str],
    status: tuple[str, str] | None,
    now: dt.datetime,
) -> None:
    rematch = bool(changed & set(MATCHED_FIELDS))
    if not rematch and (status is None or not sla.has_sla(ticket)):
        return
    calendar = await sla.calendar_of(session, ticket.tenant_id)
    policy: SlaPolicy | None
    if rematch:
        policy = await sla.policy_for(session, ticket)
        unmet = ticket.sla_first_response_met_at is None
        replies = await sla.first_replies(session, [ticket.id]) if unmet else {}
        recompute(
            session,
            ticket,
            policy,
            calendar,
            actor_id,
            "/".join(sorted(changed & set(MATCHED_FIELDS))),
            first_reply_at=replies.get(ticket.id),
            now=now,
        )
    else:
        policy = await session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
    if status is not None:
        minutes = policy.resolution_minutes if policy else None
        sla.status_changed(ticket, minutes, status[0], status[1], calendar, now)


def recompute(
    session: AsyncSession,
    ticket: Ticket,
    policy: SlaPolicy | None,
    calendar: Calendar,
    actor_id: uuid.UUID | None,
    reason: str,
    *,
    first_reply_at: dt.datetime | None,
    now: dt.datetime,
) -> bool:
    """Gives `ticket` its targets under `policy` and `calendar` again (`sla.recompute`); when that
    changed anything, the history (employees only) says from what to what and why. True when it
    changed."""
    before = sla.Snapshot.of(ticket)
    if not sla.recompute(ticket, policy, calendar, first_reply_at=first_reply_at, now=now):
        return False
    repo.add_event(
        session,
        ticket.id,
        actor_id,
        "sla_recomputed",
        field="sla",
        old=before.json(),
        new={**sla.Snapshot.of(ticket).json(), "reason": reason},
        public=False,
    )
    return True


async def comment_added(
    session: AsyncSession, ticket: Ticket, *, by_employee: bool, internal: bool, now: dt.datetime
) -> None:
    """The first public comment of an employee meets the first response. The ticket as it is read
    changed (its `sla` block), so it gets a new version and `ETag`, as a rating gives it; `updated_at`
    stays, for none of the fields anyone edits changed."""
    if not by_employee or internal or ticket.sla_first_response_due_at is None:
        return
    met = (
        await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id, Ticket.sla_first_response_met_at.is_(None))
            .values(sla_first_response_met_at=now, version=Ticket.version + 1, updated_at=Ticket.updated_at)
            .returning(Ticket.sla_first_response_met_at, Ticket.version)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if met is not None:
        set_committed_value(ticket, "sla_first_response_met_at", met.sla_first_response_met_at)
        set_committed_value(ticket, "version", met.version)
