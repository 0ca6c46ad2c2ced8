"""The service-level worker: recomputes due times after a policy or calendar change, and handles breaches.

Several workers may run (API processes and `blink-api worker`): a breach is claimed by setting its
`*_breached_at` in the statement that finds it (rows locked with `SKIP LOCKED`, so two workers take
different tickets), and the history entry, the mail (outbox) and the webhook delivery are written in
the same transaction. So each breach is handled exactly once: a worker that dies before committing
leaves the breach unrecorded for the next round, one that committed has recorded it for everyone.
The scan reads the partial index on `sla_breach_due_at`, which holds only tickets with a running,
unrecorded target, so a round costs what it finds, not the number of open tickets.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload, selectinload

from blink_api.customers.models import Site
from blink_api.kit.config import Settings
from blink_api.kit.periodic import PeriodicWorker
from blink_api.notifications.events import Event, publish
from blink_api.tickets import notifications as notify
from blink_api.tickets import repository as repo
from blink_api.tickets import sla, sla_service
from blink_api.tickets.models import Ticket
from blink_api.tickets.sla_models import SlaPolicy, SlaRecomputation

log = logging.getLogger(__name__)

BREACH_BATCH = 200
RECOMPUTE_BATCH = 500

_CLAIM_BREACHES = text(
    """
    WITH due AS (
        SELECT id FROM tickets
        WHERE sla_breach_due_at <= now()
        ORDER BY sla_breach_due_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE tickets t SET
        sla_first_response_breached_at = CASE
            WHEN t.sla_first_response_met_at IS NULL AND t.sla_first_response_breached_at IS NULL
                 AND t.sla_first_response_due_at <= now() THEN now()
            ELSE t.sla_first_response_breached_at END,
        sla_resolution_breached_at = CASE
            WHEN t.sla_resolution_met_at IS NULL AND t.sla_resolution_paused_at IS NULL
                 AND t.sla_resolution_breached_at IS NULL AND t.sla_resolution_due_at <= now() THEN now()
            ELSE t.sla_resolution_breached_at END,
        version = t.version + 1
    FROM due
    WHERE t.id = due.id
    RETURNING t.id,
        t.sla_first_response_breached_at = now() AS first_response,
        t.sla_resolution_breached_at = now() AS resolution
    """
)


async def record_breaches(session: AsyncSession, settings: Settings, limit: int = BREACH_BATCH) -> int:
    """One round in `session`'s transaction: claims up to `limit` tickets with a target just breached,
    and for each records it in the history, mails it and sends `ticket.sla_breached`. Returns how many
    tickets it handled."""
    claimed = (await session.execute(_CLAIM_BREACHES, {"limit": limit})).all()
    if not claimed:
        return 0
    targets = {row.id: [name for name in sla.TARGETS if getattr(row, name)] for row in claimed}
    tickets = await session.scalars(
        select(Ticket)
        .where(Ticket.id.in_(list(targets)))
        .options(selectinload(Ticket.created_by), joinedload(Ticket.rating))
        .order_by(Ticket.id)
    )
    for ticket in tickets.unique():
        breaches = [(name, getattr(ticket, f"sla_{name}_due_at")) for name in targets[ticket.id]]
        for name, due in breaches:
            repo.add_event(
                session,
                ticket.id,
                None,
                "sla_breached",
                field="sla",
                new={"target": name, "due_at": sla.iso(due)},
                public=False,
            )
        await notify.sla_breached(session, settings, ticket, breaches)
        await publish(session, Event("ticket.sla_breached", ticket.site_id, ticket))
    await session.flush()
    return len(claimed)


@dataclass(frozen=True, slots=True)
class Recomputation:
    """The requests of one tenant taken together: which rows, and what changed (for the history)."""

    tenant_id: uuid.UUID
    request_ids: tuple[uuid.UUID, ...]
    reason: str


async def next_recomputation(session: AsyncSession) -> Recomputation | None:
    """The tenant that has waited longest for a recomputation, with every request it has now."""
    tenant_id = await session.scalar(
        select(SlaRecomputation.tenant_id)
        .order_by(SlaRecomputation.requested_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if tenant_id is None:
        return None
    requests = (
        await session.execute(
            select(SlaRecomputation.id, SlaRecomputation.reason).where(
                SlaRecomputation.tenant_id == tenant_id
            )
        )
    ).all()
    return Recomputation(
        tenant_id, tuple(r.id for r in requests), ", ".join(sorted({r.reason for r in requests}))
    )


async def recompute_batch(
    session: AsyncSession, job: Recomputation, after: uuid.UUID | None
) -> uuid.UUID | None:
    """The next `RECOMPUTE_BATCH` open tickets of the tenant (by id, after `after`): each gets the
    policy that matches it best and its due times again (met targets stay), and says so in its history
    when that changed anything. Returns the last ticket's id, None when there were none left.

    Policies and calendar are read in the batch's own transaction: a change made meanwhile has queued
    a request of its own, which passes over every ticket again."""
    stmt = (
        select(Ticket)
        .where(Ticket.tenant_id == job.tenant_id, Ticket.status != "closed")
        .order_by(Ticket.id)
        .limit(RECOMPUTE_BATCH)
        .with_for_update()
    )
    if after is not None:
        stmt = stmt.where(Ticket.id > after)
    batch = list(await session.scalars(stmt))
    if not batch:
        return None
    policies = list(
        await session.scalars(
            select(SlaPolicy)
            .where(SlaPolicy.tenant_id == job.tenant_id)
            .order_by(SlaPolicy.created_at, SlaPolicy.id)
        )
    )
    customers = dict(
        (
            await session.execute(select(Site.id, Site.customer_id).where(Site.tenant_id == job.tenant_id))
        ).all()
    )
    calendar = await sla.calendar_of(session, job.tenant_id)
    replies = await sla.first_replies(session, [t.id for t in batch if t.sla_first_response_met_at is None])
    now = dt.datetime.now(dt.UTC)
    for ticket in batch:
        policy = best_policy(policies, customers.get(ticket.site_id), ticket)
        reply = replies.get(ticket.id)
        sla_service.recompute(
            session, ticket, policy, calendar, None, job.reason, first_reply_at=reply, now=now
        )
    await session.flush()
    return batch[-1].id


def best_policy(policies: list[SlaPolicy], customer_id: Any, ticket: Ticket) -> SlaPolicy | None:
    """`sla.matching_policy` over policies already read (oldest first)."""
    best: SlaPolicy | None = None
    best_score = -1
    priority = ticket.priority
    for policy in policies:
        criteria = (
            (policy.customer_id, customer_id),
            (policy.ticket_type_id, ticket.ticket_type_id),
            (policy.priority, priority),
        )
        if any(wanted is not None and wanted != actual for wanted, actual in criteria):
            continue
        score = sum(wanted is not None for wanted, _ in criteria)
        if score > best_score:
            best, best_score = policy, score
    return best


async def recompute_all(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Every recomputation asked for, tenant by tenant, each batch of tickets in a transaction of its
    own (a large tenant's tickets are never all locked at once). A tenant's requests are deleted when
    its last batch is done: a worker stopped half-way leaves them for the next round, which passes
    over the tickets again (recomputing is idempotent: tickets already done say nothing twice).
    Requests made during a pass stay for another pass."""
    while True:
        async with sessions.begin() as session:
            job = await next_recomputation(session)
        if job is None:
            return
        after: uuid.UUID | None = None
        while True:
            async with sessions.begin() as session:
                after = await recompute_batch(session, job, after)
            if after is None:
                break
        async with sessions.begin() as session:
            await session.execute(delete(SlaRecomputation).where(SlaRecomputation.id.in_(job.request_ids)))


async def run_round(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Every recomputation asked for, then breaches until none are left; each tenant and each batch of
    breaches in a transaction of its own. Returns how many tickets had a breach handled."""
    await recompute_all(sessions)
    handled = 0
    while True:
        async with sessions.begin() as session:
            found = await record_breaches(session, settings)
        handled += found
        if found < BREACH_BATCH:
            return handled


class SlaWorker(PeriodicWorker):
    name = "service-level worker"
    poll_seconds = 5.0

    async def run_round(self) -> int:
        return await run_round(self.database.sessionmaker, self.settings)
