"""Who may see which evaluation: only where the customer enabled it, over the sites in the caller's scope."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Customer, Site
from blink_api.evaluations import repository as repo
from blink_api.evaluations.schemas import Bucket, Satisfaction, TicketEvaluation
from blink_api.identity.principals import CustomerUserPrincipal, Principal
from blink_api.kit.errors import Invalid, NotFound
from blink_api.sites.repository import visible_sites
from blink_api.sites.service import get_site

NOT_ENABLED = "There is no ticket evaluation here."


def _bounds(
    closed_from: dt.date | None, closed_to: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Whole days in UTC, `closed_to` included."""
    if closed_from and closed_to and closed_from > closed_to:
        raise Invalid.at(["query", "closed_to"], "closed_to lies before closed_from.")
    start = dt.datetime.combine(closed_from, dt.time(), dt.UTC) if closed_from else None
    end = dt.datetime.combine(closed_to + dt.timedelta(days=1), dt.time(), dt.UTC) if closed_to else None
    return start, end


async def _evaluate(
    session: AsyncSession,
    principal: Principal,
    customer: Customer,
    site_ids: list[uuid.UUID],
    closed_from: dt.date | None,
    closed_to: dt.date | None,
) -> TicketEvaluation:
    g = customer.evaluation_group_days
    start, end = _bounds(closed_from, closed_to)
    total, within_sla, median, counts, rated, average = await repo.resolution_buckets(
        session,
        principal,
        customer_id=customer.id,
        site_ids=site_ids,
        group_days=g,
        closed_from=start,
        closed_to=end,
    )
    by_bucket = dict(counts)
    buckets = (
        [
            Bucket(from_days=k * g, to_days=(k + 1) * g - 1, count=by_bucket.get(k, 0))
            for k in range(min(by_bucket), max(by_bucket) + 1)
        ]
        if by_bucket
        else []
    )
    return TicketEvaluation(
        group_days=g,
        total=total,
        within_sla=within_sla,
        median_days=median,
        buckets=buckets,
        satisfaction=Satisfaction(count=rated, average=average),
    )


CSV_COLUMNS = ("from_days", "to_days", "count")
"""The header row of the evaluation as CSV: one row per bucket, as `TicketEvaluation.buckets`."""


def csv_rows(evaluation: TicketEvaluation) -> list[tuple[int, int, int]]:
    return [(bucket.from_days, bucket.to_days, bucket.count) for bucket in evaluation.buckets]


async def _enabled_customer(session: AsyncSession, customer_id: uuid.UUID) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None or not customer.ticket_evaluation_enabled:
        raise NotFound(NOT_ENABLED)
    return customer


async def site_evaluation(
    session: AsyncSession,
    principal: Principal,
    site_id: uuid.UUID,
    closed_from: dt.date | None,
    closed_to: dt.date | None,
) -> TicketEvaluation:
    site = await get_site(session, principal, site_id)
    customer = await _enabled_customer(session, site.customer_id)
    return await _evaluate(session, principal, customer, [site.id], closed_from, closed_to)


async def overall_evaluation(
    session: AsyncSession,
    principal: Principal,
    customer_id: uuid.UUID | None,
    closed_from: dt.date | None,
    closed_to: dt.date | None,
) -> TicketEvaluation:
    if isinstance(principal, CustomerUserPrincipal):
        if customer_id is not None and customer_id != principal.customer_id:
            raise NotFound(NOT_ENABLED)
        customer_id = principal.customer_id
    elif customer_id is None:
        raise Invalid.at(["query", "customer_id"], "Employees name the customer whose sites to evaluate.")
    customer = await _enabled_customer(session, customer_id)
    site_ids = list(
        await session.scalars(
            visible_sites(principal).where(Site.customer_id == customer.id).with_only_columns(Site.id)
        )
    )
    if not site_ids:
        raise NotFound(NOT_ENABLED)
    return await _evaluate(session, principal, customer, site_ids, closed_from, closed_to)
