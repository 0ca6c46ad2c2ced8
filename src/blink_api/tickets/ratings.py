"""Satisfaction ratings: the customer user who reported a ticket rates it once, after it was closed."""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from blink_api.identity.principals import Principal, ensure
from blink_api.kit.errors import Conflict
from blink_api.notifications.events import Event, publish
from blink_api.tickets import policy
from blink_api.tickets import repository as repo
from blink_api.tickets.models import Ticket
from blink_api.tickets.schemas import RatingCreate
from blink_api.tickets.service import get_ticket

NOT_CLOSED = "Only a closed ticket can be rated."
ALREADY_RATED = "This ticket has already been rated; a rating cannot be changed."


async def rate_ticket(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, body: RatingCreate
) -> Ticket:
    """Stores the rating and records it in the ticket's history; the ticket, as changed, is returned.

    404 when the caller does not see the ticket, 403 unless it is the customer user who reported it,
    409 while the ticket is not closed or once it has a rating. The ticket's row is locked first, so
    that it cannot be reopened between the check and the rating; the rating's primary key keeps a
    second rating out, also one sent at the same moment.
    """
    ticket = await get_ticket(session, principal, ticket_id, for_update=True)
    ensure(policy.why_not_rate(principal, ticket))
    if ticket.status != "closed":
        raise Conflict(NOT_CLOSED)
    rating = (
        None
        if ticket.rating is not None
        else await repo.add_rating(session, ticket.id, body.score, body.comment)
    )
    if rating is None:
        raise Conflict(ALREADY_RATED)
    set_committed_value(ticket, "rating", rating)
    repo.add_event(
        session,
        ticket.id,
        principal.id,
        "rated",
        field="rating",
        new={"score": rating.score, "comment": rating.comment},
        public=True,
    )
    # The ticket as it is read has changed: a new version (and `ETag`), and `updated_at` says when.
    ticket.updated_at = func.now()
    await session.flush()
    await session.refresh(ticket, ["updated_at", "version"])
    await publish(session, Event("ticket.updated", ticket.site_id, ticket))
    return ticket
