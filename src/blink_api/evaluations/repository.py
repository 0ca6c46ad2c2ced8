"""The evaluation in one SQL statement, compiled once per shape: who may see it, the customer's
switch and bucket width, and the counts, in a single round trip outside any transaction."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Numeric,
    Uuid,
    and_,
    bindparam,
    cast,
    false,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Customer, Site
from blink_api.customers.scope import assigned_sites, enabled_types
from blink_api.identity.principals import Principal
from blink_api.identity.scope import tenant_among
from blink_api.kit.compiled import DriverStatement, driver_connection
from blink_api.kit.sql_json import sql_string
from blink_api.tickets.models import Ticket, TicketRating
from blink_api.tickets.repository import RESOLUTION_DAYS, ScopeShape, _scope_condition, _scope_of

TOTALS: dict[str, ColumnElement[Any]] = {
    "total": func.count(),
    "median_days": func.percentile_cont(literal_column("0.5")).within_group(RESOLUTION_DAYS),
    # Met its resolution target: null (counted as not) for tickets without one.
    "within_sla": func.count().filter(Ticket.sla_resolution_met_at <= Ticket.sla_resolution_due_at),
}
"""Figures over all tickets counted, one aggregate over `tickets` (outer-joined with
`ticket_ratings`) each, by the name of their field in `TicketEvaluation`: a new figure is one more
entry here (and its field in the schema)."""

_SATISFACTION: dict[str, ColumnElement[Any]] = {
    "rated": func.count(TicketRating.score),
    "average": func.round(cast(func.avg(TicketRating.score), Numeric), literal_column("2")),
}


@dataclass(frozen=True, slots=True)
class EvaluationShape:
    """What the statement looks like, without its values."""

    scope: ScopeShape
    one_site: bool  # one site (`site_id`) rather than every visible site of the customer (`customer_id`)
    closed_from: bool
    closed_to: bool


def _visible_site(shape: ScopeShape) -> ColumnElement[bool]:
    """`sites.repository.visible_sites` as a condition with named parameters: employees their
    tenants' sites (administrators all), customer users the sites assigned to them."""
    if shape.kind == "all":
        return true()
    if shape.kind == "tenants":
        return tenant_among(
            Site.tenant_id, [bindparam(f"scope_tenant_{i}", type_=Uuid()) for i in range(shape.tenants)]
        )
    if shape.kind == "customer_user":
        return Site.id.in_(
            assigned_sites(
                bindparam("scope_account_id", type_=Uuid()), bindparam("scope_customer_id", type_=Uuid())
            )
        )
    return false()


@functools.lru_cache(maxsize=64)
def evaluation_statement(shape: EvaluationShape) -> DriverStatement:
    """One row per bucket of `group_days` (`overall` 0) and one over all of them (`overall` 1, always
    there, also without tickets), each with `bucket`, `n`, the `TOTALS` and the satisfaction's
    figures, and on every row `sites` (visible sites evaluated) and `group_days` (null unless the
    customer enabled the evaluation).

    Parameters: the scope's (`tickets.repository._scope_of`), `site_id` or `customer_id`, and
    `closed_from` / `closed_to` when the shape has them."""
    if shape.one_site:
        site_id = bindparam("site_id", type_=Uuid())
        sites = select(Site.id).where(Site.id == site_id, _visible_site(shape.scope))
        customer_id: Any = (
            select(Site.customer_id).where(Site.id == site_id, _visible_site(shape.scope)).scalar_subquery()
        )
    else:
        customer_id = bindparam("customer_id", type_=Uuid())
        sites = select(Site.id).where(Site.customer_id == customer_id, _visible_site(shape.scope))
    group_days = (
        select(Customer.evaluation_group_days)
        .where(Customer.id == customer_id, Customer.ticket_evaluation_enabled)
        .scalar_subquery()
    )
    bucket = RESOLUTION_DAYS // group_days
    conditions = [
        # Started from the caller's ticket scope, like every read of tickets.
        _scope_condition(shape.scope),
        Ticket.status == sql_string("closed"),
    ]
    if shape.one_site:
        conditions.append(Ticket.site_id == site_id)
    if shape.scope.kind != "customer_user":
        # Narrowed to what the customer's evaluation counts. A customer user's scope is exactly that
        # already (the sites assigned to the user of its own customer, the types its customer
        # enabled); saying it twice only misleads the planner's estimates.
        if not shape.one_site:
            conditions.append(Ticket.site_id.in_(sites))
        conditions.append(Ticket.ticket_type_id.in_(enabled_types(customer_id)))
    if shape.closed_from:
        conditions.append(Ticket.closed_at >= bindparam("closed_from", type_=DateTime(timezone=True)))
    if shape.closed_to:
        conditions.append(Ticket.closed_at < bindparam("closed_to", type_=DateTime(timezone=True)))
    return DriverStatement(
        select(
            func.grouping(bucket).label("overall"),
            bucket.label("bucket"),
            func.count().label("n"),
            *(aggregate.label(name) for name, aggregate in (TOTALS | _SATISFACTION).items()),
            select(func.count()).select_from(sites.subquery()).scalar_subquery().label("sites"),
            group_days.label("group_days"),
        )
        .select_from(Ticket)
        .outerjoin(TicketRating, TicketRating.ticket_id == Ticket.id)
        .where(and_(*conditions))
        .group_by(func.rollup(bucket))
    )


@dataclass(frozen=True, slots=True)
class Counted:
    """What the statement found: `sites` 0 when the caller sees none, `group_days` None when the
    evaluation is not enabled; otherwise the figures."""

    sites: int
    group_days: int | None
    totals: dict[str, Any]
    buckets: dict[int, int]
    rated: int
    average: float | None


async def resolution_buckets(
    session: AsyncSession,
    principal: Principal,
    *,
    site_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    closed_from: dt.datetime | None,
    closed_to: dt.datetime | None,
) -> Counted:
    """The closed tickets of enabled types on the site (`site_id`) or on every site of the customer
    (`customer_id`) that the caller sees, by resolution days; the satisfaction over the rated ones
    among them (average to 2 decimals, null without any)."""
    scope, params = _scope_of(principal)
    shape = EvaluationShape(scope, site_id is not None, closed_from is not None, closed_to is not None)
    if site_id is not None:
        params["site_id"] = site_id
    else:
        params["customer_id"] = customer_id
    if closed_from is not None:
        params["closed_from"] = closed_from
    if closed_to is not None:
        params["closed_to"] = closed_to
    rows = await evaluation_statement(shape).fetch(await driver_connection(session), params)
    overall = next(row for row in rows if row["overall"])
    average = overall["average"]
    return Counted(
        sites=overall["sites"],
        group_days=overall["group_days"],
        totals={name: overall[name] for name in TOTALS},
        buckets={row["bucket"]: row["n"] for row in rows if not row["overall"]},
        rated=overall["rated"],
        average=float(average) if average is not None else None,
    )
