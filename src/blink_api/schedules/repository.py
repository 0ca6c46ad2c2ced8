"""SQL of schedules: which ones a caller manages, their sites, and the occurrences raised."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Select, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.identity.principals import Principal
from blink_api.identity.scope import served_tenants
from blink_api.schedules.models import Schedule, schedule_occurrences, schedule_sites
from blink_api.tickets.models import Ticket


def managed_schedules(principal: Principal) -> Select[Any]:
    """The schedules of the tenants the caller serves (administrators: all). Whether it may manage
    schedules at all is the policy's question, asked before."""
    return select(Schedule).where(served_tenants(principal, Schedule.tenant_id))


async def site_ids(session: AsyncSession, schedule_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    found: dict[uuid.UUID, list[uuid.UUID]] = {s: [] for s in schedule_ids}
    if not schedule_ids:
        return found
    rows = await session.execute(
        select(schedule_sites.c.schedule_id, schedule_sites.c.site_id)
        .where(schedule_sites.c.schedule_id.in_(schedule_ids))
        .order_by(schedule_sites.c.site_id)
    )
    for schedule_id, site_id in rows:
        found[schedule_id].append(site_id)
    return found


async def set_sites(session: AsyncSession, schedule_id: uuid.UUID, site_ids: list[uuid.UUID]) -> None:
    await session.execute(delete(schedule_sites).where(schedule_sites.c.schedule_id == schedule_id))
    await session.execute(
        insert(schedule_sites), [{"schedule_id": schedule_id, "site_id": s} for s in site_ids]
    )


async def raised(
    session: AsyncSession, schedule_ids: list[uuid.UUID], first: dt.date, last: dt.date
) -> dict[tuple[uuid.UUID, uuid.UUID, dt.date], tuple[uuid.UUID | None, dt.datetime | None]]:
    """The occurrences of the schedules from `first` to `last` whose ticket was raised: (schedule, site,
    date) → (ticket id, when the ticket was closed). A ticket id is null when the ticket is gone."""
    rows = await session.execute(
        select(
            schedule_occurrences.c.schedule_id,
            schedule_occurrences.c.site_id,
            schedule_occurrences.c.occurs_on,
            schedule_occurrences.c.ticket_id,
            Ticket.closed_at,
        )
        .outerjoin(Ticket, Ticket.id == schedule_occurrences.c.ticket_id)
        .where(
            schedule_occurrences.c.schedule_id.in_(schedule_ids),
            schedule_occurrences.c.occurs_on.between(first, last),
        )
    )
    return {(s, site, day): (ticket, closed) for s, site, day, ticket, closed in rows}


async def claim_occurrence(
    session: AsyncSession, schedule_id: uuid.UUID, site_id: uuid.UUID, day: dt.date
) -> bool:
    """Claims the occurrence for this transaction: True when no other transaction has raised (or is
    raising) its ticket. A concurrent claim of the same occurrence waits for this transaction and
    then finds it taken, or takes it if this one rolls back."""
    claimed = await session.scalar(
        pg_insert(schedule_occurrences)
        .values(schedule_id=schedule_id, site_id=site_id, occurs_on=day)
        .on_conflict_do_nothing()
        .returning(schedule_occurrences.c.occurs_on)
    )
    return claimed is not None


async def record_ticket(
    session: AsyncSession, schedule_id: uuid.UUID, site_id: uuid.UUID, day: dt.date, ticket_id: uuid.UUID
) -> None:
    await session.execute(
        update(schedule_occurrences)
        .where(
            schedule_occurrences.c.schedule_id == schedule_id,
            schedule_occurrences.c.site_id == site_id,
            schedule_occurrences.c.occurs_on == day,
        )
        .values(ticket_id=ticket_id)
    )


async def active_schedule_ids(session: AsyncSession) -> list[uuid.UUID]:
    return list(await session.scalars(select(Schedule.id).where(Schedule.active).order_by(Schedule.id)))


async def lock_active(session: AsyncSession, schedule_id: uuid.UUID) -> Schedule | None:
    """The schedule, locked for this transaction, if it is still active and no other worker holds it."""
    return (
        await session.scalars(
            select(Schedule)
            .where(Schedule.id == schedule_id, Schedule.active)
            .with_for_update(skip_locked=True)
        )
    ).first()


def schedules_of_site(site_id: uuid.UUID) -> Select[Any]:
    return (
        select(Schedule)
        .join(schedule_sites, schedule_sites.c.schedule_id == Schedule.id)
        .where(schedule_sites.c.site_id == site_id)
    )
