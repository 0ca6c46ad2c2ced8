"""Who may see which evaluation: only where the customer enabled it, over the sites in the caller's scope."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.evaluations import repository as repo
from blink_api.evaluations.schemas import Bucket, Satisfaction, TicketEvaluation
from blink_api.identity.principals import CustomerUserPrincipal, Principal
from blink_api.kit.errors import Invalid, NotFound

NOT_ENABLED = "There is no ticket evaluation here."


def _bounds(
    closed_from: dt.date | None, closed_to: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Whole days in UTC, `closed_to` included."""
    start = dt.datetime.combine(closed_from, dt.time(), dt.UTC) if closed_from else None
    end = dt.datetime.combine(closed_to + dt.timedelta(days=1), dt.time(), dt.UTC) if closed_to else None
    return start, end


def _ensure_ordered(closed_from: dt.date | None, closed_to: dt.date | None) -> None:
    """Checked once the caller may see the evaluation (a hidden one answers 404 whatever the days)."""
    if closed_from and closed_to and closed_from > closed_to:
        raise Invalid.at(["query", "closed_to"], "closed_to lies before closed_from.")


def _evaluation(counted: repo.Counted) -> TicketEvaluation:
    g = counted.group_days
    assert g is not None
    by_bucket = counted.buckets
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
        buckets=buckets,
        satisfaction=Satisfaction(count=counted.rated, average=counted.average),
        **counted.totals,
    )


CSV_COLUMNS = ("from_days", "to_days", "count")
"""The header row of the evaluation as CSV: one row per bucket, as `TicketEvaluation.buckets`."""


def csv_rows(evaluation: TicketEvaluation) -> list[tuple[int, int, int]]:
    return [(bucket.from_days, bucket.to_days, bucket.count) for bucket in evaluation.buckets]


async def site_evaluation(
    session: AsyncSession,
    principal: Principal,
    site_id: uuid.UUID,
    closed_from: dt.date | None,
    closed_to: dt.date | None,
) -> TicketEvaluation:
    start, end = _bounds(closed_from, closed_to)
    counted = await repo.resolution_buckets(
        session, principal, site_id=site_id, closed_from=start, closed_to=end
    )
    if not counted.sites:
        raise NotFound("Site not found.")
    if counted.group_days is None:
        raise NotFound(NOT_ENABLED)
    _ensure_ordered(closed_from, closed_to)
    return _evaluation(counted)


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
    start, end = _bounds(closed_from, closed_to)
    counted = await repo.resolution_buckets(
        session, principal, customer_id=customer_id, closed_from=start, closed_to=end
    )
    if counted.group_days is None or not counted.sites:
        raise NotFound(NOT_ENABLED)
    _ensure_ordered(closed_from, closed_to)
    return _evaluation(counted)
