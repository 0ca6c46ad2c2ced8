"""HTTP endpoints of tickets, their comments and history (their attachments: `attachments.router`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from blink_api.files import service as files
from blink_api.identity.dependencies import CurrentPrincipal
from blink_api.kit.context import Ctx
from blink_api.kit.db import DbSession
from blink_api.kit.errors import UnsupportedMediaType, problem_responses
from blink_api.kit.idempotency import IdempotencyHeader, fingerprint, idempotent
from blink_api.kit.pagination import Page, Pagination
from blink_api.kit.schema import DATE_RANGE
from blink_api.tickets import comments, service
from blink_api.tickets.filters import with_list_filters
from blink_api.tickets.schemas import (
    CommentCreate,
    CommentRead,
    CommentUpdate,
    HistoryEntry,
    TicketCreate,
    TicketRead,
    TicketUpdate,
)

router = APIRouter(prefix="/tickets", tags=["tickets"])

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The `ETag` of the version you read; 412 when it is stale."),
]
_ETAG_HEADER = {
    "ETag": {"description": "The ticket's version, for `If-Match`.", "schema": {"type": "string"}}
}


@router.get("", name="tickets:list", response_model=Page[TicketRead], responses=problem_responses(401, 422))
@with_list_filters
async def list_tickets(
    session: DbSession, principal: CurrentPrincipal, page: Pagination, filters: dict[str, Any]
) -> Response:
    """Newest first. Employees see their tenants' tickets, customer users the tickets of their sites."""
    body = await service.list_tickets(session, principal, page, filters)
    # PostgreSQL wrote the items as `TicketRead` serialises them; a test holds the two equal.
    return Response(body, media_type="application/json")


_CREATE_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/TicketCreate"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["site_id", "ticket_type_id", "title"],
                "properties": {
                    "site_id": {"type": "string", "format": "uuid"},
                    "ticket_type_id": {"type": "string", "format": "uuid"},
                    "title": {"type": "string", "maxLength": 300},
                    "description": {"type": "string"},
                    "due_date": {
                        "type": "string",
                        "format": "date",
                        "description": f"YYYY-MM-DD, {DATE_RANGE}.",
                    },
                    "assignee_id": {"type": "string", "format": "uuid"},
                    "status": {"type": "string", "enum": ["open", "in_progress", "closed"]},
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                },
            }
        },
    },
}


@router.post(
    "",
    name="tickets:create",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 404, 409, 413, 415, 422, 429, 503),
    openapi_extra={"requestBody": _CREATE_BODY},
)
async def create_ticket(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyHeader = None,
) -> TicketRead:
    """A JSON body, or a multipart form with the same fields plus `files` (photos and attachments in the
    same request). `due_date`, `assignee_id` and `status` are for employees; customer users sending
    them get 403."""
    body, uploads = await read_ticket_create(request)
    checked = await files.check_files(ctx, principal, uploads) if uploads else []

    async def run() -> TicketRead:
        ticket = await service.create_ticket(session, principal, body, settings=ctx.settings)
        if checked:
            await service.attach_files(session, ctx.storage, principal, ticket.id, checked)
        return service.read(ticket)

    return await idempotent(  # type: ignore[return-value]
        session,
        principal.id,
        idempotency_key,
        fingerprint("POST", request.url.path, body.model_dump_json(), *files.upload_fingerprint(checked)),
        run,
    )


async def read_ticket_create(request: Request) -> tuple[TicketCreate, list[UploadFile]]:
    """The ticket fields from a JSON body or a multipart form, validated like any request body."""
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    uploads: list[UploadFile] = []
    try:
        if content_type == "multipart/form-data":
            form = await request.form(max_files=files.MAX_FILES_PER_REQUEST, max_fields=20)
            fields: dict[str, str] = {}
            for name, value in form.multi_items():
                if isinstance(value, str):
                    if value != "" or name == "title":
                        fields[name] = value
                elif name == "files":
                    uploads.append(value)
                else:
                    fields[name] = "<file>"  # refused below as an unknown or mistyped field
            return TicketCreate.model_validate(fields), uploads
        if content_type in ("application/json", "") or content_type.endswith("+json"):
            return TicketCreate.model_validate_json(await request.body()), uploads
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_context=False)]
        ) from exc
    raise UnsupportedMediaType("Send the ticket as application/json or multipart/form-data.")


@router.get(
    "/{ticket_id}",
    name="tickets:read",
    responses={**problem_responses(401, 404, 422), 200: {"headers": _ETAG_HEADER}},
)
async def read_ticket(
    session: DbSession, principal: CurrentPrincipal, ticket_id: uuid.UUID, response: Response
) -> TicketRead:
    ticket = await service.get_ticket(session, principal, ticket_id)
    response.headers["ETag"] = service.etag(ticket)
    return service.read(ticket)


@router.patch(
    "/{ticket_id}",
    name="tickets:update",
    responses={**problem_responses(401, 403, 404, 412, 422), 200: {"headers": _ETAG_HEADER}},
)
async def update_ticket(
    ctx: Ctx,
    session: DbSession,
    principal: CurrentPrincipal,
    ticket_id: uuid.UUID,
    body: TicketUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> TicketRead:
    """Customer users may change title and description of tickets they created, nothing else (403)."""
    ticket = await service.update_ticket(session, principal, ticket_id, body, if_match, settings=ctx.settings)
    response.headers["ETag"] = service.etag(ticket)
    return service.read(ticket)


@router.get("/{ticket_id}/history", name="tickets:history", responses=problem_responses(401, 404, 422))
async def ticket_history(
    session: DbSession, principal: CurrentPrincipal, ticket_id: uuid.UUID, page: Pagination
) -> Page[HistoryEntry]:
    """Who changed what, newest first.

    Customer users see changes of the ticket's fields, public comments and attachments, never internal
    notes; a ticket type not enabled for their customer or a site not assigned to them shows as null.
    """
    return await service.ticket_history(session, principal, ticket_id, page)


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
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_comment(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    principal: CurrentPrincipal,
    ticket_id: uuid.UUID,
    body: CommentCreate,
    idempotency_key: IdempotencyHeader = None,
) -> CommentRead:
    async def run() -> CommentRead:
        _, comment = await comments.add_comment(session, principal, ticket_id, body, settings=ctx.settings)
        return comments.read(comment)

    return await idempotent(  # type: ignore[return-value]
        session,
        principal.id,
        idempotency_key,
        fingerprint("POST", request.url.path, body.model_dump_json()),
        run,
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
