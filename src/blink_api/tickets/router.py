"""HTTP endpoints of tickets and their history (comments: `comment_router`, attachments:
`attachments.router`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from blink_api.files import service as files
from blink_api.identity.dependencies import CurrentPrincipal
from blink_api.kit.context import Ctx
from blink_api.kit.db import DbSession
from blink_api.kit.errors import UnsupportedMediaType, problem_responses
from blink_api.kit.idempotency import Idempotent
from blink_api.kit.pagination import Page, Pagination
from blink_api.tickets import service
from blink_api.tickets.filters import with_list_filters
from blink_api.tickets.schemas import HistoryEntry, TicketCreate, TicketRead, TicketUpdate

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


def _form_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema as a multipart form carries it: a field left out is absent, never null."""
    schema = model.model_json_schema()
    properties: dict[str, Any] = {}
    for name, field in schema["properties"].items():
        field = {key: value for key, value in field.items() if (key, value) != ("default", None)}
        kinds = [kind for kind in field.pop("anyOf", []) if kind != {"type": "null"}]
        if len(kinds) > 1:
            field["anyOf"] = kinds
        elif kinds:
            # The type's own description (a date's format) goes before the field's.
            descriptions = [d for d in (kinds[0].get("description"), field.get("description")) if d]
            field = {**kinds[0], **field}
            if descriptions:
                field["description"] = " ".join(descriptions)
        properties[name] = field
    return {**schema, "properties": properties}


def _create_form_schema() -> dict[str, Any]:
    schema = _form_schema(TicketCreate)
    files_schema = {"type": "array", "items": {"type": "string", "format": "binary"}}
    return {
        "type": "object",
        "required": schema["required"],
        "properties": {**schema["properties"], "files": files_schema},
        "additionalProperties": schema["additionalProperties"],
    }


# FastAPI does not read this body (`read_ticket_create` does), so it is described here, from `TicketCreate`.
_CREATE_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/TicketCreate"}},
        "multipart/form-data": {"schema": _create_form_schema()},
    },
}


@dataclass(frozen=True, slots=True)
class TicketCreateBody:
    """A ticket to create and, from a multipart form, its files (not yet checked)."""

    ticket: TicketCreate
    files: list[UploadFile]


async def read_ticket_create(request: Request) -> TicketCreateBody:
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
            return TicketCreateBody(TicketCreate.model_validate(fields), uploads)
        if content_type in ("application/json", "") or content_type.endswith("+json"):
            return TicketCreateBody(TicketCreate.model_validate_json(await request.body()), uploads)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_context=False)]
        ) from exc
    raise UnsupportedMediaType("Send the ticket as application/json or multipart/form-data.")


NewTicket = Annotated[TicketCreateBody, Depends(read_ticket_create)]


@router.post(
    "",
    name="tickets:create",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 404, 409, 413, 415, 422, 429, 503),
    openapi_extra={"requestBody": _CREATE_BODY},
)
async def create_ticket(
    ctx: Ctx,
    session: DbSession,
    principal: CurrentPrincipal,
    body: NewTicket,
    idempotency: Idempotent,
) -> TicketRead:
    """A JSON body, or a multipart form with the same fields plus `files` (photos and attachments in the
    same request). `due_date`, `assignee_id` and `status` are for employees; customer users sending
    them get 403."""
    checked = await files.check_files(ctx, principal, body.files) if body.files else []

    async def create() -> TicketRead:
        ticket = await service.create_ticket(session, principal, body.ticket, settings=ctx.settings)
        if checked:
            await service.attach_files(session, ctx.storage, principal, ticket.id, checked)
        return service.read(ticket)

    parts = [body.ticket.model_dump_json(), *files.upload_fingerprint(checked)]
    return await idempotency.run(principal.id, parts, create)  # type: ignore[return-value]


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
