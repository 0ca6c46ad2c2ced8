"""HTTP endpoints of the ticket evaluation."""

import datetime as dt
import uuid

from fastapi import APIRouter

from blink_api.db import DbSession
from blink_api.errors import problem_responses
from blink_api.evaluations import service
from blink_api.evaluations.schemas import TicketEvaluation
from blink_api.identity.dependencies import CurrentPrincipal

router = APIRouter(tags=["evaluations"])


@router.get(
    "/sites/{site_id}/ticket-evaluation", name="evaluations:site", responses=problem_responses(401, 404, 422)
)
async def site_evaluation(
    session: DbSession,
    principal: CurrentPrincipal,
    site_id: uuid.UUID,
    closed_from: dt.date | None = None,
    closed_to: dt.date | None = None,
) -> TicketEvaluation:
    """Closed tickets of the customer's enabled types on the site, by resolution days
    `floor((closed_at - created_at) / 1 day)` in buckets of `group_days`. 404 unless the customer
    enabled the evaluation. `closed_from`/`closed_to` are whole days (UTC), both included."""
    return await service.site_evaluation(session, principal, site_id, closed_from, closed_to)


@router.get("/ticket-evaluation", name="evaluations:overall", responses=problem_responses(401, 404, 422))
async def overall_evaluation(
    session: DbSession,
    principal: CurrentPrincipal,
    customer_id: uuid.UUID | None = None,
    closed_from: dt.date | None = None,
    closed_to: dt.date | None = None,
) -> TicketEvaluation:
    """The same over every site of the customer the caller can see (customer users: their own customer;
    employees name `customer_id`)."""
    return await service.overall_evaluation(session, principal, customer_id, closed_from, closed_to)
