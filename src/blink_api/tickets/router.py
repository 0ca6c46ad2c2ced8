"""HTTP endpoints of tickets and their history (comments: `comment_router`, attachments:
`attachments.router`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from blink_api.files import service as files
from blink_api.identity.dependencies import CurrentPrincipal
from blink_api.kit.context import AppContext, Ctx
from blink_api.kit.created import created_responses, location
from blink_api.kit.csv_export import csv_content, streamed_csv_response, wants_csv
from blink_api.kit.db import DbSession
from blink_api.kit.errors import UnsupportedMediaType, problem_responses
from blink_api.kit.etags import none_match
from blink_api.kit.idempotency import Idempotent
from blink_api.kit.pagination import Page, Pagination
from blink_api.tickets import service
from blink_api.tickets.filters import with_list_filters
from blink_api.tickets.schemas import HistoryEntry, TicketCreate, TicketRead, TicketUpdate
from blink_api.tickets.sorting import DEFAULT_SORT, SORT_DESCRIPTION, TicketSort

router = APIRouter(prefix="/tickets", tags=["tickets"])

TicketId = Annotated[uuid.UUID, Path(description="The ticket's id; 404 when the caller does not see it.")]

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The `ETag` of the version you read; 412 when it is stale."),
]
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="`ETag`s of versions you hold, or `*`: 304 without a body while one is current.",
    ),
]
_ETAG = {
    "description": "The ticket's version, for `If-Match` and `If-None-Match`.",
    "schema": {"type": "string"},
}
_ETAG_HEADER = {"ETag": _ETAG}


@router.get(
    "",
    name="tickets:list",
    response_model=Page[TicketRead],
    responses={200: {"content": csv_content()}, **problem_responses(401, 422)},
)
@with_list_filters
async def list_tickets(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    page: Pagination,
    filters: dict[str, Any],
    sort: Annotated[TicketSort, Query(description=SORT_DESCRIPTION)] = DEFAULT_SORT,
) -> Response:
    """The tickets the caller sees, narrowed by the filters given (all must hold), in the order `sort`
    (newest first unless asked otherwise), a page at a time: follow `next_cursor` with the same query.
    Employees see their tenants' tickets (administrators every tenant's), customer users the tickets
    of the sites assigned to them whose type their customer enabled.

    With `Accept: text/csv`: every matching ticket (same filters and `sort`, no paging: `limit` and
    `cursor` are ignored) as CSV, streamed, UTF-8 with a byte order mark, header row `number, title, status,
    priority, site, ticket_type, assignee, created_at, closed_at, resolution_days`; site, type and
    assignee by name. Text cells that a spreadsheet would
    take for a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) are prefixed with
    `'`. Any other `Accept` answers JSON."""
    # Decided first, on the header alone: the JSON answer pays one substring search for CSV.
    if wants_csv(request.headers.get("accept")):
        context: AppContext = request.app.state.context
        rows = service.export_tickets(context.database.sessionmaker, principal, filters, sort)
        return await streamed_csv_response(service.CSV_COLUMNS, rows, "tickets.csv")
    body = await service.list_tickets(session, principal, page, filters, sort)
    # PostgreSQL wrote the items as `TicketRead` serialises them; a test holds the two equal. The same
    # URL answers CSV too: a cache must tell the two apart.
    return Response(body, media_type="application/json", headers={"Vary": "Accept"})


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
    responses={
        **created_responses(
            "The new ticket (`GET /tickets/{ticket_id}`).",
            ETag={**_ETAG, "description": f"{_ETAG['description']} Not on a replayed answer."},
        ),
        **problem_responses(401, 403, 404, 409, 413, 415, 422, 429, 503),
    },
    openapi_extra={"requestBody": _CREATE_BODY},
)
async def create_ticket(
    ctx: Ctx,
    session: DbSession,
    principal: CurrentPrincipal,
    body: NewTicket,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> TicketRead:
    """Reports a ticket at a site the caller sees: employees on their tenants' sites, customer users on
    the sites assigned to them with a ticket type their customer enabled. A JSON body, or a multipart
    form with the same fields plus `files` (photos and attachments in the same request, checked like
    `POST /tickets/{ticket_id}/attachments`). `due_date`, `assignee_id` and `status` are for
    employees; customer users sending them get 403. The ticket's number is the tenant's next one.
    With `Idempotency-Key`, a retry with the same key and body answers the first ticket again."""
    checked = await files.check_files(ctx, principal, body.files) if body.files else []

    async def create() -> TicketRead:
        ticket = await service.create_ticket(session, principal, body.ticket, settings=ctx.settings)
        if checked:
            await service.attach_files(
                session, ctx.storage, principal, ticket.id, checked, settings=ctx.settings
            )
        response.headers["ETag"] = service.etag(ticket)
        return service.read(ticket)

    parts = [body.ticket.model_dump_json(), *files.upload_fingerprint(checked)]
    return await idempotency.run(  # type: ignore[return-value]
        principal.id,
        parts,
        create,
        location=lambda created: location(request, "tickets:read", ticket_id=created["id"]),
    )


@router.get(
    "/{ticket_id}",
    name="tickets:read",
    response_model=TicketRead,
    responses={
        200: {"headers": _ETAG_HEADER},
        304: {"description": "The version named in `If-None-Match` is current.", "headers": _ETAG_HEADER},
        **problem_responses(401, 404, 422),
    },
)
async def read_ticket(
    session: DbSession,
    principal: CurrentPrincipal,
    ticket_id: TicketId,
    request: Request,
    response: Response,
    if_none_match: IfNoneMatch = None,
) -> TicketRead | Response:
    """One ticket the caller sees (employees: of their tenants; customer users: of their assigned
    sites and enabled types; 404 otherwise), with its `ETag`. Send the `ETag` back in `If-None-Match`
    to get 304 while it has not changed, or in `If-Match` on `PATCH` to change only this version."""
    ticket = await service.get_ticket(session, principal, ticket_id)
    etag = service.etag(ticket)
    # The header may come as several lines, which together are one list.
    if if_none_match is not None and none_match(", ".join(request.headers.getlist("if-none-match")), etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    response.headers["ETag"] = etag
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
    ticket_id: TicketId,
    body: TicketUpdate,
    response: Response,
    request: Request,
    if_match: IfMatch = None,
) -> TicketRead:
    """Changes the fields sent; every change is kept in the ticket's history. Employees may change
    every field; customer users may change title and description of tickets they created, nothing
    else (403). With `If-Match`, a ticket changed since you read it is left alone (412). A status
    change is mailed to the ticket's followers; the closing mail asks its creator for a rating."""
    # Like If-None-Match, the field may come as several lines that together are one list.
    condition = ", ".join(request.headers.getlist("if-match")) if if_match is not None else None
    ticket = await service.update_ticket(
        session, principal, ticket_id, body, condition, settings=ctx.settings
    )
    response.headers["ETag"] = service.etag(ticket)
    return service.read(ticket)


@router.get("/{ticket_id}/history", name="tickets:history", responses=problem_responses(401, 404, 422))
async def ticket_history(
    session: DbSession, principal: CurrentPrincipal, ticket_id: TicketId, page: Pagination
) -> Page[HistoryEntry]:
    """Who changed what, newest first.

    Customer users see changes of the ticket's fields, public comments and attachments, never internal
    notes; a ticket type not enabled for their customer or a site not assigned to them shows as null.
    """
    return await service.ticket_history(session, principal, ticket_id, page)
