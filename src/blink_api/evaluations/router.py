"""HTTP endpoints of the ticket evaluation."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from blink_api.evaluations import service
from blink_api.evaluations.schemas import TicketEvaluation
from blink_api.identity.dependencies import CurrentPrincipal
from blink_api.kit.csv_export import csv_content, csv_response, wants_csv
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.schema import Day

router = APIRouter(tags=["evaluations"])

SiteId = Annotated[uuid.UUID, Path(description="The site's id; 404 when the caller does not see it.")]
CustomerId = Annotated[
    uuid.UUID | None,
    Query(
        description="The customer whose sites to evaluate: required for employees (422 without); customer "
        "users may leave it out or name their own customer (404 for any other)."
    ),
]
ClosedFrom = Annotated[Day | None, Query(description="First day (UTC) of closing counted.")]
ClosedTo = Annotated[
    Day | None, Query(description="Last day (UTC) of closing counted; not before `closed_from` (else 422).")
]


_JSON = TicketEvaluation.__pydantic_serializer__

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": csv_content()},
    **problem_responses(401, 404, 422),
}


def _answer(request: Request, evaluation: TicketEvaluation) -> Response:
    """The evaluation as JSON or, when asked (`Accept: text/csv`), its buckets as CSV (without
    `satisfaction`, which is no bucket). The JSON is written by the model's serializer directly: the
    model was just built from the database's figures, so validating it again as `response_model`
    would only cost time."""
    if wants_csv(request.headers.get("accept")):
        return csv_response(service.CSV_COLUMNS, service.csv_rows(evaluation), "ticket-evaluation.csv")
    return Response(_JSON.to_json(evaluation), media_type="application/json")


@router.get(
    "/sites/{site_id}/ticket-evaluation",
    name="evaluations:site",
    response_model=TicketEvaluation,
    responses=_RESPONSES,
)
async def site_evaluation(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    site_id: SiteId,
    closed_from: ClosedFrom = None,
    closed_to: ClosedTo = None,
) -> Response:
    """Closed tickets of the customer's enabled types on the site, by resolution days
    `floor((closed_at - created_at) / 1 day)` in buckets of `group_days`. For everyone who sees the
    site (employees of its tenant, customer users it is assigned to); 404 unless the site's customer
    has the evaluation enabled (`PUT /customers/{customer_id}/evaluation-settings`).
    `closed_from`/`closed_to` are whole days (UTC), both included. `satisfaction` averages the ratings
    of the rated tickets among those counted.

    With `Accept: text/csv`: one row per bucket, `from_days, to_days, count` (UTF-8 with a byte order
    mark; `satisfaction` is in the JSON answer only); any other `Accept` answers JSON."""
    evaluation = await service.site_evaluation(session, principal, site_id, closed_from, closed_to)
    return _answer(request, evaluation)


@router.get(
    "/ticket-evaluation", name="evaluations:overall", response_model=TicketEvaluation, responses=_RESPONSES
)
async def overall_evaluation(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    customer_id: CustomerId = None,
    closed_from: ClosedFrom = None,
    closed_to: ClosedTo = None,
) -> Response:
    """The same over every site of the customer the caller can see (customer users: their own customer
    and their assigned sites; employees name `customer_id` and count their tenants' sites), as JSON
    or, with `Accept: text/csv`, one CSV row per bucket (`satisfaction` in JSON only). 404 unless the
    customer has the evaluation enabled and the caller sees at least one of its sites."""
    evaluation = await service.overall_evaluation(session, principal, customer_id, closed_from, closed_to)
    return _answer(request, evaluation)
