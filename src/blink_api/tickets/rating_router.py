"""HTTP endpoint of a ticket's satisfaction rating (read as part of the ticket)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from blink_api.identity.dependencies import CurrentPrincipal
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.tickets import ratings, service
from blink_api.tickets.schemas import RatingCreate, TicketRead

router = APIRouter(prefix="/tickets", tags=["tickets"])

TicketId = Annotated[uuid.UUID, Path(description="The ticket's id; 404 when the caller does not see it.")]


@router.post(
    "/{ticket_id}/rating",
    name="tickets:rate",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses(
            "The rated ticket (`GET /tickets/{ticket_id}`), which shows the rating.",
            ETag={"description": "The ticket's new version.", "schema": {"type": "string"}},
        ),
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def rate_ticket(
    session: DbSession,
    principal: CurrentPrincipal,
    ticket_id: TicketId,
    body: RatingCreate,
    request: Request,
    response: Response,
) -> TicketRead:
    """Rates a closed ticket: how satisfied the customer user who reported it is (score 1 to 5, an
    optional comment). Only that customer user may rate (403 for anyone else who sees the ticket,
    employees included), only once the ticket is closed (409 before) and only once (409 again: a
    rating cannot be changed or withdrawn). Answers the ticket with its `rating`; the rating is
    recorded in the ticket's history (`rated`), gives the ticket a new version and is sent to webhooks
    as `ticket.updated`. Reopening a rated ticket keeps its rating."""
    ticket = await ratings.rate_ticket(session, principal, ticket_id, body)
    response.headers["ETag"] = service.etag(ticket)
    response.headers["Location"] = location(request, "tickets:read", ticket_id=ticket.id)
    return service.read(ticket)
