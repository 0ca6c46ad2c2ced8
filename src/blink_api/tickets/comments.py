"""Comment rules: public comments and internal notes, edited and deleted by their authors only."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from blink_api.identity.principals import EmployeePrincipal, Principal, ensure
from blink_api.identity.scope import sees_internal_notes
from blink_api.kit.config import Settings
from blink_api.kit.errors import NotFound
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.notifications.events import Event, publish
from blink_api.tickets import notifications as notify
from blink_api.tickets import policy, sla_service
from blink_api.tickets import repository as repo
from blink_api.tickets.models import Ticket, TicketComment
from blink_api.tickets.schemas import CommentCreate, CommentRead, CommentUpdate
from blink_api.tickets.service import creator, get_ticket


def read(comment: TicketComment) -> CommentRead:
    return CommentRead(
        id=comment.id,
        ticket_id=comment.ticket_id,
        body=comment.body,
        internal=comment.internal,
        author=creator(comment.author),  # type: ignore[arg-type]
        created_at=comment.created_at,
        updated_at=comment.updated_at,
    )


async def list_comments(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, page: PageParams
) -> Page[CommentRead]:
    await get_ticket(session, principal, ticket_id)
    stmt = repo.comments(ticket_id, include_internal=sees_internal_notes(principal))
    rows, cursor = await paginate(
        session, stmt, page, created_at=TicketComment.created_at, id_=TicketComment.id
    )
    return Page[CommentRead](items=[read(c) for c in rows], next_cursor=cursor)


async def get_comment(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, comment_id: uuid.UUID
) -> tuple[Ticket, TicketComment]:
    ticket = await get_ticket(session, principal, ticket_id)
    comment = await session.scalar(
        select(TicketComment)
        .where(TicketComment.id == comment_id, TicketComment.ticket_id == ticket_id)
        .options(selectinload(TicketComment.author))
    )
    # An internal note does not exist for a customer user.
    if comment is None or (comment.internal and not sees_internal_notes(principal)):
        raise NotFound("Comment not found.")
    return ticket, comment


async def add_comment(
    session: AsyncSession,
    principal: Principal,
    ticket_id: uuid.UUID,
    body: CommentCreate,
    *,
    settings: Settings,
) -> tuple[Ticket, TicketComment]:
    ticket = await get_ticket(session, principal, ticket_id)
    if body.internal:
        ensure(policy.why_not_write_internal(principal))
    comment = TicketComment(
        ticket_id=ticket.id, author_id=principal.id, body=body.body, internal=body.internal
    )
    session.add(comment)
    await session.flush()
    await sla_service.comment_added(
        session,
        ticket,
        by_employee=isinstance(principal, EmployeePrincipal),
        internal=body.internal,
        now=comment.created_at,
    )
    repo.add_event(
        session,
        ticket.id,
        principal.id,
        "comment_added",
        field="comment",
        new=body.body,
        public=not body.internal,
    )
    await repo.refresh_search(session, ticket.id)
    await notify.comment_added(session, settings, ticket, principal, body.body, body.internal)
    await session.flush()
    _, comment = await get_comment(session, principal, ticket.id, comment.id)
    await publish(session, Event("ticket.comment_added", ticket.site_id, comment))
    return ticket, comment


async def edit_comment(
    session: AsyncSession,
    principal: Principal,
    ticket_id: uuid.UUID,
    comment_id: uuid.UUID,
    body: CommentUpdate,
) -> TicketComment:
    _, comment = await get_comment(session, principal, ticket_id, comment_id)
    ensure(policy.why_not_change_comment(principal, comment))
    if comment.body != body.body:
        repo.add_event(
            session,
            ticket_id,
            principal.id,
            "comment_edited",
            field="comment",
            old=comment.body,
            new=body.body,
            public=not comment.internal,
        )
        comment.body = body.body
        await session.flush()
        await repo.refresh_search(session, ticket_id)
        await session.refresh(comment, ["updated_at"])
    return comment


async def delete_comment(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, comment_id: uuid.UUID
) -> None:
    _, comment = await get_comment(session, principal, ticket_id, comment_id)
    ensure(policy.why_not_change_comment(principal, comment))
    repo.add_event(
        session,
        ticket_id,
        principal.id,
        "comment_deleted",
        field="comment",
        old=comment.body,
        public=not comment.internal,
    )
    await session.delete(comment)
    await session.flush()
    await repo.refresh_search(session, ticket_id)
