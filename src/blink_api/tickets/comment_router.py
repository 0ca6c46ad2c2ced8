"""HTTP endpoints of a ticket's comments and internal notes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

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


@router.get("/{ticket_id}/comments", name="tickets:list_comments", responses=problem_responses(401, 404, 422))
async def list_comments(
    session: DbSession, principal: CurrentPrincipal, ticket_id: uuid.UUID, page: Pagination
) -> Page[CommentRead]:
    """Customer users never see internal notes."""
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
    ticket_id: uuid.UUID,
    body: CommentCreate,
    idempotency: Idempotent,
    request: Request,
) -> CommentRead:
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
    session: DbSession, principal: CurrentPrincipal, ticket_id: uuid.UUID, comment_id: uuid.UUID
) -> CommentRead:
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
    ticket_id: uuid.UUID,
    comment_id: uuid.UUID,
    body: CommentUpdate,
) -> CommentRead:
    """Authors only; the edit is kept in the history."""
    return comments.read(await comments.edit_comment(session, principal, ticket_id, comment_id, body))


@router.delete(
    "/{ticket_id}/comments/{comment_id}",
    name="tickets:delete_comment",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_comment(
    session: DbSession, principal: CurrentPrincipal, ticket_id: uuid.UUID, comment_id: uuid.UUID
) -> None:
    """Authors only."""
    await comments.delete_comment(session, principal, ticket_id, comment_id)
