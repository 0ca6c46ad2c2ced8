"""HTTP endpoints of a ticket's comments and internal notes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from blink_api.identity.dependencies import CurrentPrincipal
from blink_api.kit.context import Ctx
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.idempotency import Idempotent
from blink_api.kit.pagination import Page, Pagination
from blink_api.tickets import comments
from blink_api.tickets.schemas import CommentCreate, CommentRead, CommentUpdate

router = APIRouter(prefix="/tickets", tags=["tickets"])

TicketId = Annotated[uuid.UUID, Path(description="The ticket's id; 404 when the caller does not see it.")]
CommentId = Annotated[
    uuid.UUID,
    Path(description="The comment's id; 404 when it is not on this ticket or the caller does not see it."),
]


@router.get("/{ticket_id}/comments", name="tickets:list_comments", responses=problem_responses(401, 404, 422))
async def list_comments(
    session: DbSession, principal: CurrentPrincipal, ticket_id: TicketId, page: Pagination
) -> Page[CommentRead]:
    """The ticket's comments, newest first, for everyone who sees the ticket. Customer users never see
    internal notes."""
    return await comments.list_comments(session, principal, ticket_id, page)


@router.post(
    "/{ticket_id}/comments",
    name="tickets:create_comment",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses("The new comment (`GET /tickets/{ticket_id}/comments/{comment_id}`)."),
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def create_comment(
    ctx: Ctx,
    session: DbSession,
    principal: CurrentPrincipal,
    ticket_id: TicketId,
    body: CommentCreate,
    idempotency: Idempotent,
    request: Request,
) -> CommentRead:
    """Adds a comment to a ticket the caller sees (employees and customer users alike); a public comment
    is mailed to the ticket's followers (its creator and assignee unless they unfollowed, and everyone
    who follows it), a customer user's comment also to the opted-in staff of an unassigned ticket.
    Employees may write an internal note (`internal: true`), which customer users never see;
    customer users sending it get 403. With `Idempotency-Key`, a retry with the same key and body
    answers the first comment again."""

    async def create() -> CommentRead:
        _, comment = await comments.add_comment(session, principal, ticket_id, body, settings=ctx.settings)
        return comments.read(comment)

    return await idempotency.run(  # type: ignore[return-value]
        principal.id,
        [body.model_dump_json()],
        create,
        location=lambda created: location(
            request, "tickets:read_comment", ticket_id=ticket_id, comment_id=created["id"]
        ),
    )


@router.get(
    "/{ticket_id}/comments/{comment_id}",
    name="tickets:read_comment",
    responses=problem_responses(401, 404, 422),
)
async def read_comment(
    session: DbSession, principal: CurrentPrincipal, ticket_id: TicketId, comment_id: CommentId
) -> CommentRead:
    """One comment of a ticket the caller sees; internal notes are not found for customer users."""
    _, comment = await comments.get_comment(session, principal, ticket_id, comment_id)
    return comments.read(comment)


@router.patch(
    "/{ticket_id}/comments/{comment_id}",
    name="tickets:update_comment",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_comment(
    session: DbSession,
    principal: CurrentPrincipal,
    ticket_id: TicketId,
    comment_id: CommentId,
    body: CommentUpdate,
) -> CommentRead:
    """Changes a comment's text: its author only (403 for anyone else); the old text is kept in the
    ticket's history."""
    return comments.read(await comments.edit_comment(session, principal, ticket_id, comment_id, body))


@router.delete(
    "/{ticket_id}/comments/{comment_id}",
    name="tickets:delete_comment",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_comment(
    session: DbSession, principal: CurrentPrincipal, ticket_id: TicketId, comment_id: CommentId
) -> None:
    """Deletes a comment: its author only (403 for anyone else); the ticket's history keeps the
    deleted text."""
    await comments.delete_comment(session, principal, ticket_id, comment_id)
