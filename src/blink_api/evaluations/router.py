"""HTTP endpoints of the ticket evaluation."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from blink_api.evaluations import service
from blink_api.evaluations.schemas import TicketEvaluation
from blink_api.identity.dependencies import CurrentPrincipal
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.schema import Day

router = APIRouter(tags=["evaluations"])

ClosedFrom = Annotated[Day | None, Query(description="First day (UTC) of closing counted.")]
ClosedTo = Annotated[
    Day | None, Query(description="Last day (UTC) of closing counted; not before `closed_from` (else 422).")
]


@router.get(
    "/sites/{site_id}/ticket-evaluation", name="evaluations:site", responses=problem_responses(401, 404, 422)
)
async def site_evaluation(
    session: DbSession,
    principal: CurrentPrincipal,
    site_id: uuid.UUID,
    closed_from: ClosedFrom = None,
    closed_to: ClosedTo = None,
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
    closed_from: ClosedFrom = None,
    closed_to: ClosedTo = None,
) -> TicketEvaluation:
    """The same over every site of the customer the caller can see (customer users: their own customer;
    employees name `customer_id`)."""
    return await service.overall_evaluation(session, principal, customer_id, closed_from, closed_to)
