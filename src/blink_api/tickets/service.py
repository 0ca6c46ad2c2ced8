"""Ticket rules: who creates, sees and changes which ticket, and the history of every change."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from typing import Any, Literal

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from blink_api.customers.models import Site
from blink_api.files import service as files
from blink_api.files.models import Attachment
from blink_api.files.service import CheckedFile
from blink_api.identity.models import Account
from blink_api.identity.principals import CustomerUserPrincipal, Principal, ensure
from blink_api.kit import etags
from blink_api.kit.config import Settings
from blink_api.kit.csv_export import neutralise
from blink_api.kit.errors import Invalid, NotFound, PreconditionFailed
from blink_api.kit.pagination import Page, PageParams, page_json, page_of, paginate
from blink_api.kit.storage import Storage
from blink_api.notifications.events import Event, publish
from blink_api.ticket_types.models import TicketType
from blink_api.tickets import customer_view, policy, sla_service, sorting
from blink_api.tickets import notifications as notify
from blink_api.tickets import repository as repo
from blink_api.tickets.models import Ticket, TicketEvent
from blink_api.tickets.schemas import Creator, HistoryEntry, TicketCreate, TicketRead, TicketUpdate
from blink_api.tickets.sorting import DEFAULT_SORT, TicketSort


def creator(account: Account | None) -> Creator | None:
    if account is None:
        return None
    return Creator(kind=account.kind, id=account.id, name=account.name)  # type: ignore[arg-type]


def read(ticket: Ticket) -> TicketRead:
    return TicketRead.model_validate(repo.TICKET_READ.values(ticket))


def etag(ticket: Ticket) -> str:
    return f'"{ticket.version}"'


async def list_tickets(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    filters: Mapping[str, Any],
    sort: TicketSort = DEFAULT_SORT,
) -> bytes:
    """The page as the JSON of `Page[TicketRead]`, built by PostgreSQL item by item; `filters` are the
    filters given (name → value, `tickets.filters`), `sort` the order (`tickets.sorting`). 422 when
    the page's cursor was handed out under another order."""
    sorting.check_cursor(page, sort)
    found = await repo.ticket_page(session, principal, page, filters, sort)
    rows, cursor = page_of(found, page, created_at=sorting.SORT_KEY, id_="id", order=sorting.cursor_tag(sort))
    return page_json([row["item"] for row in rows], cursor)


# --- The CSV export --------------------------------------------------------------------------------

CSV_COLUMNS = (
    "number",
    "title",
    "status",
    "priority",
    "site",
    "ticket_type",
    "assignee",
    "created_at",
    "closed_at",
    "resolution_days",
)
"""The export's header row, as SPEC names it."""

# The ticket field each column shows (by name instead of id): all of them are fields every caller
# who sees the ticket sees, customer users included (`customer_view.TICKET_FIELDS`), so the export
# holds nothing internal; `resolution_days` is derived from the two timestamps.
_CSV_SOURCES = {
    "number": "number",
    "title": "title",
    "status": "status",
    "priority": "priority",
    "site": "site_id",
    "ticket_type": "ticket_type_id",
    "assignee": "assignee_id",
    "created_at": "created_at",
    "closed_at": "closed_at",
    "resolution_days": "closed_at",
}
if not set(_CSV_SOURCES.values()) <= customer_view.TICKET_FIELDS:
    raise RuntimeError("the CSV export names fields customer users do not see")

EXPORT_BATCH_ROWS = 2000
"""Rows read from the cursor, and written, at a time: the export's memory is about one batch."""


def _csv_row(row: Any) -> tuple[Any, ...]:
    """A row of `repo.ticket_export_select` as the export's cells; None is an empty cell."""
    number, title, status, priority, site, ticket_type, assignee, created_at, closed_at, days = row
    return (
        neutralise(number),
        neutralise(title),
        status,
        priority,
        neutralise(site),
        neutralise(ticket_type),
        neutralise(assignee) if assignee is not None else None,
        created_at.isoformat(),
        closed_at.isoformat() if closed_at is not None else None,
        days,
    )


async def export_tickets(
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    filters: Mapping[str, Any],
    sort: TicketSort = DEFAULT_SORT,
) -> AsyncGenerator[list[tuple[Any, ...]], None]:
    """Every ticket of `principal`'s list with `filters` (no paging), in the order `sort`, as CSV cells
    (`CSV_COLUMNS`), a batch of rows at a time, each text cell neutralised against formulas.

    It runs in a session of its own, opened when the first batch is wanted: the answer is streamed
    after the request's own transaction has ended. The session only reads and is rolled back when
    the export ends or the client goes away.
    """
    session = sessions()
    try:
        export = repo.ticket_export(session, principal, filters, EXPORT_BATCH_ROWS, sort)
        async with aclosing(export) as batches:
            async for rows in batches:
                yield [_csv_row(row) for row in rows]
    finally:
        # Also when the client left and the answer is being cancelled: the connection goes back.
        with anyio.CancelScope(shield=True):
            await session.close()


async def get_ticket(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, *, for_update: bool = False
) -> Ticket:
    ticket = await repo.get_visible(session, principal, ticket_id, for_update=for_update)
    if ticket is None:
        raise NotFound("Ticket not found.")
    return ticket


async def _site_in_scope(session: AsyncSession, principal: Principal, site_id: uuid.UUID) -> Site:
    site = await repo.site_for_ticket(session, principal, site_id)
    if site is None:
        raise NotFound("Site not found.")
    return site


async def _check_type(
    session: AsyncSession, principal: Principal, site: Site, ticket_type_id: uuid.UUID
) -> TicketType:
    ticket_type = await session.get(TicketType, ticket_type_id)
    loc = ["body", "ticket_type_id"]
    if ticket_type is None or ticket_type.tenant_id != site.tenant_id:
        raise Invalid.at(loc, "The ticket type does not belong to the site's tenant.")
    if isinstance(principal, CustomerUserPrincipal) and not await repo.type_enabled_for_customer(
        session, principal.customer_id, ticket_type_id
    ):
        raise Invalid.at(loc, "This ticket type is not available to customer users on this site.")
    return ticket_type


async def _check_assignee(session: AsyncSession, assignee_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
    if not await repo.employee_serves_tenant(session, assignee_id, tenant_id):
        raise Invalid.at(
            ["body", "assignee_id"], "The assignee must be an active employee of the ticket's tenant."
        )


async def create_ticket(
    session: AsyncSession,
    principal: Principal,
    body: TicketCreate,
    *,
    settings: Settings,
    schedule_id: uuid.UUID | None = None,
) -> Ticket:
    """`schedule_id`: the schedule raising the ticket for one of its dates."""
    site = await _site_in_scope(session, principal, body.site_id)
    ensure(
        policy.why_not_set_fields(
            principal, [f for f in ("due_date", "assignee_id", "status") if getattr(body, f) is not None]
        )
    )
    await _check_type(session, principal, site, body.ticket_type_id)
    if body.assignee_id is not None:
        await _check_assignee(session, body.assignee_id, site.tenant_id)
    status = body.status or "open"
    ticket = Ticket(
        tenant_id=site.tenant_id,
        site_id=site.id,
        ticket_type_id=body.ticket_type_id,
        number=await repo.next_number(session, site.tenant_id),
        title=body.title,
        description=body.description,
        status=status,
        priority=body.priority or "normal",
        assignee_id=body.assignee_id,
        due_date=body.due_date,
        created_by_id=principal.id,
        closed_at=dt.datetime.now(dt.UTC) if status == "closed" else None,
        schedule_id=schedule_id,
    )
    sla_applied = await sla_service.ticket_created(session, ticket)
    session.add(ticket)
    await session.flush()
    repo.add_event(session, ticket.id, principal.id, "created", public=True, new={"title": ticket.title})
    if sla_applied:
        sla_service.record_applied(session, ticket, principal.id)
    await repo.refresh_search(session, ticket.id)
    await notify.ticket_created(session, settings, ticket, principal)
    await session.flush()
    ticket = await get_ticket(session, principal, ticket.id)
    await publish(session, Event("ticket.created", ticket.site_id, ticket))
    return ticket


async def update_ticket(
    session: AsyncSession,
    principal: Principal,
    ticket_id: uuid.UUID,
    body: TicketUpdate,
    if_match: str | None,
    *,
    settings: Settings,
) -> Ticket:
    sent = body.model_dump(exclude_unset=True)
    # Out of scope is 404 whatever was sent; a field the caller may never change is 403 on a ticket
    # it sees.
    ticket = await get_ticket(session, principal, ticket_id)
    ensure(policy.why_not_change_fields(principal, sent))
    ensure(policy.why_not_edit(principal, ticket))
    if if_match is not None and not etags.if_match(if_match, etag(ticket)):
        raise PreconditionFailed("The ticket was changed since you read it; reload it and try again.")
    for field in ("title", "status", "priority", "ticket_type_id", "site_id"):
        if field in sent and sent[field] is None:
            raise Invalid.at(["body", field], "This field cannot be null.")
    if "site_id" in sent and sent["site_id"] != ticket.site_id:
        site = await _site_in_scope(session, principal, sent["site_id"])
        if site.tenant_id != ticket.tenant_id:
            raise Invalid.at(["body", "site_id"], "A ticket can only move to a site of the same tenant.")
    if "ticket_type_id" in sent and sent["ticket_type_id"] != ticket.ticket_type_id:
        site = await session.get(Site, sent.get("site_id", ticket.site_id))
        assert site is not None
        await _check_type(session, principal, site, sent["ticket_type_id"])
    if sent.get("assignee_id") is not None and sent["assignee_id"] != ticket.assignee_id:
        await _check_assignee(session, sent["assignee_id"], ticket.tenant_id)

    changes: dict[str, tuple[Any, Any]] = {}
    for field, value in sent.items():
        old = getattr(ticket, field)
        if old != value:
            setattr(ticket, field, value)
            changes[field] = (old, value)
    now = dt.datetime.now(dt.UTC)
    if "status" in changes:
        ticket.closed_at = now if ticket.status == "closed" else None
    if not changes:
        return ticket
    await sla_service.ticket_changed(
        session, ticket, principal.id, set(changes), changes.get("status"), ticket.closed_at or now
    )
    for field, (old, new) in changes.items():
        repo.add_event(
            session,
            ticket.id,
            principal.id,
            "updated",
            field=field,
            old=_json(old),
            new=_json(new),
            public=True,
        )
    try:
        await session.flush()
    except StaleDataError as exc:
        # Another request changed the ticket between our read and our write.
        raise PreconditionFailed("The ticket was changed meanwhile; reload it and try again.") from exc
    if {"title", "description"} & changes.keys():
        await repo.refresh_search(session, ticket.id)
    closed = changes.get("status", (None, None))[1] == "closed"
    if "status" in changes:
        await notify.status_changed(session, settings, ticket, principal, *changes["status"])
    await session.refresh(ticket, ["updated_at", "version"])
    await publish(session, Event("ticket.updated", ticket.site_id, ticket))
    if closed:
        await publish(session, Event("ticket.closed", ticket.site_id, ticket))
    return ticket


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID | dt.date | dt.datetime):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    return value


async def ticket_history(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, page: PageParams
) -> Page[HistoryEntry]:
    """Employees see every event; customer users what `customer_view` shows them."""
    await get_ticket(session, principal, ticket_id)
    customer = isinstance(principal, CustomerUserPrincipal)
    stmt = repo.history(ticket_id, customer_view.history_condition() if customer else None)
    rows, cursor = await paginate(session, stmt, page, created_at=TicketEvent.created_at, id_=TicketEvent.id)
    items = [
        HistoryEntry(
            id=e.id,
            ticket_id=e.ticket_id,
            actor=creator(e.actor),
            event=e.event,
            field=e.field,
            old_value=e.old_value,
            new_value=e.new_value,
            created_at=e.created_at,
        )
        for e in rows
    ]
    if isinstance(principal, CustomerUserPrincipal):
        items = await customer_view.history(session, principal, items)
    return Page[HistoryEntry](items=items, next_cursor=cursor)


async def attach_files(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    ticket_id: uuid.UUID,
    checked: list[CheckedFile],
    *,
    settings: Settings,
) -> list[Attachment]:
    """Store checked uploads as attachments of the ticket, each in its history; its followers among
    the staff are mailed once about all of them."""
    stored = await files.store_files(session, storage, principal, checked, ticket_id=ticket_id)
    for attachment in stored:
        record_attachment(session, principal.id, attachment, "attachment_added")
    await session.flush()
    ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None
    if stored:
        await notify.attachments_added(session, settings, ticket, principal, [a.filename for a in stored])
    for attachment in stored:
        await publish(session, Event("ticket.attachment_added", ticket.site_id, attachment))
    return stored


def record_attachment(
    session: AsyncSession,
    actor_id: uuid.UUID,
    attachment: Attachment,
    event: Literal["attachment_added", "attachment_deleted"],
) -> None:
    """The one writer of attachment history: an attachment added to or removed from its ticket (and,
    in `record_attachment_edit`, renamed or given another file)."""
    assert attachment.ticket_id is not None
    repo.add_event(
        session,
        attachment.ticket_id,
        actor_id,
        event,
        field="attachment",
        **{
            "new" if event == "attachment_added" else "old": {
                "id": str(attachment.id),
                "filename": attachment.filename,
            }
        },
        public=True,
    )


def record_attachment_edit(
    session: AsyncSession,
    actor_id: uuid.UUID,
    attachment: Attachment,
    event: Literal["attachment_renamed", "attachment_replaced"],
    old: dict[str, Any],
) -> None:
    """An attachment of a ticket renamed, or its file replaced: `old` holds what it was (the fields
    that changed), the entry's new value the same fields as they are now; both name the attachment."""
    assert attachment.ticket_id is not None
    ref = {"id": str(attachment.id)}
    repo.add_event(
        session,
        attachment.ticket_id,
        actor_id,
        event,
        field="attachment",
        old={**ref, **old},
        new={**ref, **{name: getattr(attachment, name) for name in old}},
        public=True,
    )
