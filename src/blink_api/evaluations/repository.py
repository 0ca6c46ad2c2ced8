"""The evaluation, computed in one SQL statement."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import Numeric, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.scope import enabled_types
from blink_api.identity.principals import Principal
from blink_api.tickets.models import Ticket, TicketRating
from blink_api.tickets.repository import RESOLUTION_DAYS, ticket_scope


async def resolution_buckets(
    session: AsyncSession,
    principal: Principal,
    *,
    customer_id: uuid.UUID,
    site_ids: Sequence[uuid.UUID],
    group_days: int,
    closed_from: dt.datetime | None,
    closed_to: dt.datetime | None,
) -> tuple[int, int, float | None, list[tuple[int, int]], int, float | None]:
    """(total, within SLA, median days, [(bucket index, count)…], rated, average score) of the closed
    tickets of enabled types on the sites; the average over the rated ones among them, to 2 decimals (null
    without any)."""
    resolved = (
        select(
            RESOLUTION_DAYS.label("days"),
            TicketRating.score,
            # Met its resolution target: null (counted as not) for tickets without one.
            (Ticket.sla_resolution_met_at <= Ticket.sla_resolution_due_at).label("within_sla"),
        )
        .select_from(Ticket)
        .outerjoin(TicketRating, TicketRating.ticket_id == Ticket.id)
        .where(
            Ticket.site_id.in_(site_ids),
            Ticket.status == "closed",
            Ticket.ticket_type_id.in_(enabled_types(customer_id)),
            # Started from the caller's ticket scope, like every read of tickets; the sites and types
            # above narrow it to what the customer's evaluation counts.
            ticket_scope(principal),
        )
    )
    if closed_from is not None:
        resolved = resolved.where(Ticket.closed_at >= closed_from)
    if closed_to is not None:
        resolved = resolved.where(Ticket.closed_at < closed_to)
    r = resolved.cte("resolved")
    per_bucket = (
        select((r.c.days // group_days).label("bucket"), func.count().label("n"))
        .group_by("bucket")
        .subquery()
    )
    stmt = select(
        select(func.count()).select_from(r).scalar_subquery(),
        select(func.percentile_cont(0.5).within_group(r.c.days)).scalar_subquery(),
        select(
            func.coalesce(
                func.json_agg(func.json_build_array(per_bucket.c.bucket, per_bucket.c.n)),
                literal_column("'[]'::json"),
            )
        ).scalar_subquery(),
        select(func.count(r.c.score)).scalar_subquery(),
        select(func.round(cast(func.avg(r.c.score), Numeric), literal_column("2"))).scalar_subquery(),
        select(func.count()).select_from(r).where(r.c.within_sla).scalar_subquery(),
    )
    total, median, buckets, rated, average, within_sla = (await session.execute(stmt)).one()
    return (
        int(total),
        int(within_sla),
        float(median) if median is not None else None,
        [(int(b), int(n)) for b, n in buckets],
        int(rated),
        float(average) if average is not None else None,
    )
