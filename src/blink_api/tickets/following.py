"""Following tickets: who follows which ticket, and the rules for changing it.

A ticket's creator and assignee follow it without asking and may stop (an opt-out row); anyone else
who sees the ticket may follow it (a follower row). Following is only ever about mail: it never lets
anyone see more, and a follower who loses sight of the ticket (a site unassigned, a tenant left, a
ticket type disabled) is neither listed nor mailed until it sees the ticket again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.identity.dependencies import principal_from_row
from blink_api.identity.principals import CustomerUserPrincipal, Principal, ensure
from blink_api.identity.repository import load_principal_row
from blink_api.kit.errors import Invalid, NotFound
from blink_api.tickets.models import Ticket, TicketFollower
from blink_api.tickets.repository import get_visible, ticket_scope

Reason = Literal["creator", "assignee", "follower"]


async def _stored(session: AsyncSession, ticket_id: uuid.UUID) -> dict[uuid.UUID, bool]:
    """Account id → `following` of the ticket's rows, oldest first."""
    rows = await session.execute(
        select(TicketFollower.account_id, TicketFollower.following)
        .where(TicketFollower.ticket_id == ticket_id)
        .order_by(TicketFollower.created_at, TicketFollower.account_id)
    )
    return {row.account_id: row.following for row in rows}


def _reason(ticket: Ticket, account_id: uuid.UUID, stored: dict[uuid.UUID, bool]) -> Reason | None:
    if stored.get(account_id) is False:
        return None
    if ticket.created_by_id == account_id:
        return "creator"
    if ticket.assignee_id == account_id:
        return "assignee"
    if stored.get(account_id):
        return "follower"
    return None


def _automatic(ticket: Ticket) -> list[uuid.UUID]:
    """Who follows by role: the creator, then the assignee."""
    ids = [ticket.created_by_id]
    if ticket.assignee_id is not None and ticket.assignee_id != ticket.created_by_id:
        ids.append(ticket.assignee_id)
    return ids


async def seeing(session: AsyncSession, account_id: uuid.UUID, ticket_id: uuid.UUID) -> Principal | None:
    """The account as a caller, when it is active and sees the ticket now; else None. The same scope
    as every read of tickets (`tickets.repository.ticket_scope`), so it never widens what anyone sees."""
    row = await load_principal_row(session, account_id)
    if row is None or not row.is_active:
        return None
    principal = principal_from_row(row)
    visible = await session.scalar(select(Ticket.id).where(Ticket.id == ticket_id, ticket_scope(principal)))
    return principal if visible is not None else None


async def followers(session: AsyncSession, ticket: Ticket) -> list[Principal]:
    """Everyone who follows the ticket and sees it now, as callers: creator, assignee, then the
    others in the order they started following. The one answer to "who follows" that mails and the
    followers list both read."""
    stored = await _stored(session, ticket.id)
    candidates = _automatic(ticket) + [a for a in stored if a not in _automatic(ticket)]
    found: list[Principal] = []
    for account_id in candidates:
        if _reason(ticket, account_id, stored) is None:
            continue
        principal = await seeing(session, account_id, ticket.id)
        if principal is not None:
            found.append(principal)
    return found


# --- The caller's own subscription ----------------------------------------------------------------


async def get_ticket(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, *, for_update: bool = False
) -> Ticket:
    # As `tickets.service.get_ticket`, which mails (through this module) cannot import.
    ticket = await get_visible(session, principal, ticket_id, for_update=for_update)
    if ticket is None:
        raise NotFound("Ticket not found.")
    return ticket


async def subscription(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID
) -> tuple[bool, Reason | None]:
    ticket = await get_ticket(session, principal, ticket_id)
    reason = _reason(ticket, principal.id, await _stored(session, ticket.id))
    return reason is not None, reason


async def _put_row(
    session: AsyncSession, ticket_id: uuid.UUID, account_id: uuid.UUID, following: bool
) -> None:
    # The time of the statement, not of the transaction: followers added by one request keep its order.
    stmt = insert(TicketFollower).values(
        ticket_id=ticket_id, account_id=account_id, following=following, created_at=func.clock_timestamp()
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[TicketFollower.ticket_id, TicketFollower.account_id],
            set_={"following": following},
        )
    )


async def _drop_row(session: AsyncSession, ticket_id: uuid.UUID, account_id: uuid.UUID) -> None:
    await session.execute(
        delete(TicketFollower).where(
            TicketFollower.ticket_id == ticket_id, TicketFollower.account_id == account_id
        )
    )


async def _set(session: AsyncSession, ticket: Ticket, account_id: uuid.UUID, following: bool) -> None:
    """Make the account follow the ticket or not. Creator and assignee follow by their role: following
    again removes their opt-out, so that it lasts only as long as they have not changed their mind."""
    by_role = account_id in _automatic(ticket)
    if following:
        await (
            _drop_row(session, ticket.id, account_id)
            if by_role
            else _put_row(session, ticket.id, account_id, True)
        )
    else:
        await (
            _put_row(session, ticket.id, account_id, False)
            if by_role
            else _drop_row(session, ticket.id, account_id)
        )


async def subscribe(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, subscribed: bool
) -> tuple[bool, Reason | None]:
    """Anyone who sees the ticket follows it or stops; 404 where it does not see it."""
    ticket = await get_ticket(session, principal, ticket_id, for_update=True)
    await _set(session, ticket, principal.id, subscribed)
    return await subscription(session, principal, ticket_id)


# --- Followers, as employees see and set them -------------------------------------------------------


def _why_not_manage_followers(principal: Principal) -> str | None:
    if isinstance(principal, CustomerUserPrincipal):
        return "Only employees see and set a ticket's followers; follow it yourself with its subscription."
    return None


async def list_followers(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID
) -> list[Principal]:
    ticket = await get_ticket(session, principal, ticket_id)
    ensure(_why_not_manage_followers(principal))
    return await followers(session, ticket)


async def set_followers(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, account_ids: Sequence[uuid.UUID]
) -> list[Principal]:
    """Exactly these accounts follow the ticket afterwards (among those who see it). Each must be an
    active account that sees the ticket (422 at its place in the list otherwise); creator and
    assignee left out stop following, as if they had unfollowed themselves."""
    ticket = await get_ticket(session, principal, ticket_id, for_update=True)
    ensure(_why_not_manage_followers(principal))
    for index, account_id in enumerate(account_ids):
        if await seeing(session, account_id, ticket.id) is None:
            raise Invalid.at(
                ["body", "account_ids", index],
                "No active account with this id sees the ticket; only those who see it can follow it.",
            )
    wanted = set(account_ids)
    stored = await _stored(session, ticket.id)
    for account_id in _automatic(ticket):
        if account_id in wanted:
            await _set(session, ticket, account_id, True)
        elif await seeing(session, account_id, ticket.id) is not None:
            # One who cannot see the ticket is not listed; leaving it out changes nothing for it.
            await _set(session, ticket, account_id, False)
    for account_id, following in stored.items():
        if account_id in _automatic(ticket) or not following or account_id in wanted:
            continue
        if await seeing(session, account_id, ticket.id) is not None:
            await _set(session, ticket, account_id, False)
    for account_id in account_ids:
        if account_id not in _automatic(ticket) and not stored.get(account_id):
            await _set(session, ticket, account_id, True)
    await session.flush()
    return await followers(session, ticket)
