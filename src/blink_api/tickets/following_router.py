"""HTTP endpoints of following tickets: the caller's subscription and, for employees, the followers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from blink_api.identity.dependencies import CurrentPrincipal
from blink_api.identity.principals import Principal
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.tickets import following
from blink_api.tickets.following_schemas import (
    Follower,
    Followers,
    FollowersUpdate,
    Subscription,
    SubscriptionUpdate,
)

router = APIRouter(prefix="/tickets", tags=["tickets"])

TicketId = Annotated[uuid.UUID, Path(description="The ticket's id; 404 when the caller does not see it.")]


def _subscription(found: tuple[bool, following.Reason | None]) -> Subscription:
    subscribed, reason = found
    return Subscription(subscribed=subscribed, reason=reason)


def _followers(found: list[Principal]) -> Followers:
    return Followers(items=[Follower(id=p.id, kind=p.kind, name=p.name) for p in found])


@router.get(
    "/{ticket_id}/subscription",
    name="tickets:read_subscription",
    responses=problem_responses(401, 404, 422),
)
async def read_subscription(
    session: DbSession, principal: CurrentPrincipal, ticket_id: TicketId
) -> Subscription:
    """Whether the caller follows a ticket it sees, and why: its creator and its assignee follow it
    unless they stopped."""
    return _subscription(await following.subscription(session, principal, ticket_id))


@router.put(
    "/{ticket_id}/subscription",
    name="tickets:update_subscription",
    responses=problem_responses(401, 404, 422),
)
async def update_subscription(
    session: DbSession, principal: CurrentPrincipal, ticket_id: TicketId, body: SubscriptionUpdate
) -> Subscription:
    """Anyone who sees the ticket may follow it, and stop following it (its creator and assignee too).
    Followers are mailed what its creator is: public comments and status changes, closing included;
    employees also customer users' comments and new attachments; nobody about their own actions, and
    nobody once they no longer see the ticket. `/me/notification-settings` narrows it further."""
    return _subscription(await following.subscribe(session, principal, ticket_id, body.subscribed))


@router.get(
    "/{ticket_id}/followers",
    name="tickets:list_followers",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_followers(session: DbSession, principal: CurrentPrincipal, ticket_id: TicketId) -> Followers:
    """Employees only (customer users: 403 on a ticket they see). Everyone who follows the ticket and
    sees it now: creator and assignee unless they stopped, then the others."""
    return _followers(await following.list_followers(session, principal, ticket_id))


@router.put(
    "/{ticket_id}/followers",
    name="tickets:update_followers",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_followers(
    session: DbSession, principal: CurrentPrincipal, ticket_id: TicketId, body: FollowersUpdate
) -> Followers:
    """Employees only (customer users: 403 on a ticket they see). Exactly these accounts follow the
    ticket afterwards; creator and assignee left out stop following it. Each must be an active account
    that sees the ticket: an unknown id, or a customer user not assigned the ticket's site, is refused
    with 422 at its place in `account_ids`. Following never lets anyone see more."""
    return _followers(await following.set_followers(session, principal, ticket_id, body.account_ids))
