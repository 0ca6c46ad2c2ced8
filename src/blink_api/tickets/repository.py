"""SQL for tickets, starting from the one statement that decides which tickets a principal sees."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    Uuid,
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    null,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from blink_api.customers.models import Site
from blink_api.customers.scope import assigned_sites, enabled_types
from blink_api.identity.models import Account, Employee, employee_tenants
from blink_api.identity.principals import CustomerUserPrincipal, EmployeePrincipal, Principal
from blink_api.identity.scope import sees_internal_notes, tenant_among
from blink_api.kit.compiled import DriverRow, DriverStatement, driver_connection
from blink_api.kit.pagination import PageParams
from blink_api.kit.projection import Derived, Nested, Projection
from blink_api.sites.repository import site_by_id
from blink_api.tenants.models import Tenant
from blink_api.ticket_types.models import TicketType
from blink_api.tickets import sla, sorting
from blink_api.tickets.filters import LIST_FILTERS
from blink_api.tickets.models import Ticket, TicketComment, TicketEvent, TicketRating
from blink_api.tickets.schemas import TicketRead
from blink_api.tickets.sorting import DEFAULT_SORT, TicketSort

ScopeKind = Literal["all", "tenants", "customer_user", "nothing"]


@dataclass(frozen=True, slots=True)
class ScopeShape:
    """What the scope condition of a principal looks like, without its values."""

    kind: ScopeKind
    tenants: int = 0  # how many tenant parameters ("tenants" only)
    sees_internal: bool = False  # internal notes are searchable (`identity.scope.sees_internal_notes`)


def _scope_of(principal: Principal) -> tuple[ScopeShape, dict[str, Any]]:
    """Which condition applies to `principal`, and the values of its parameters."""
    internal = sees_internal_notes(principal)
    if isinstance(principal, EmployeePrincipal):
        if principal.is_admin:
            return ScopeShape("all", sees_internal=internal), {}
        if not principal.tenant_ids:
            return ScopeShape("nothing"), {}
        tenant_ids = sorted(principal.tenant_ids)
        return ScopeShape("tenants", len(tenant_ids), sees_internal=internal), {
            f"scope_tenant_{i}": tenant_id for i, tenant_id in enumerate(tenant_ids)
        }
    if isinstance(principal, CustomerUserPrincipal):
        return ScopeShape("customer_user"), {
            "scope_account_id": principal.id,
            "scope_customer_id": principal.customer_id,
        }
    return ScopeShape("nothing"), {}


def _scope_condition(shape: ScopeShape, values: dict[str, Any] | None = None) -> ColumnElement[bool]:
    """The scope condition of one kind of principal.

    With `values` (from `_scope_of`) the parameters carry them, for statements built per request;
    without, they are named placeholders that every execution must fill (`DriverStatement`).
    """

    def param(name: str, type_: Any) -> Any:
        if values is None:
            return bindparam(name, type_=type_)
        return bindparam(name, values[name], type_=type_, unique=True)

    if shape.kind == "all":
        return true()
    if shape.kind == "tenants":
        return tenant_among(
            Ticket.tenant_id, [param(f"scope_tenant_{i}", Uuid()) for i in range(shape.tenants)]
        )
    if shape.kind == "customer_user":
        customer_id = param("scope_customer_id", Uuid())
        return and_(
            Ticket.site_id.in_(assigned_sites(param("scope_account_id", Uuid()), customer_id)),
            Ticket.ticket_type_id.in_(enabled_types(customer_id)),
        )
    return false()


def ticket_scope(principal: Principal) -> ColumnElement[bool]:
    """The condition a ticket must meet to be visible to `principal`; default deny.

    Employees: their tenants' tickets (admins: all). Customer users: tickets on the sites assigned
    to them, of their own customer, whose type is enabled for that customer. Every read of tickets,
    and of what hangs on them, starts from this condition.
    """
    shape, values = _scope_of(principal)
    return _scope_condition(shape, values)


# --- A ticket as the API reads it, and the list: one statement per shape (scope, filters, cursor) -------

_accounts = Account.__table__  # the creator's columns; its subclass tables are not needed here

TICKET_READ = Projection(
    {
        "id": Ticket.id,
        "number": Ticket.number,
        "tenant_id": Ticket.tenant_id,
        "site_id": Ticket.site_id,
        "ticket_type_id": Ticket.ticket_type_id,
        "title": Ticket.title,
        "description": Ticket.description,
        "status": Ticket.status,
        "priority": Ticket.priority,
        "assignee_id": Ticket.assignee_id,
        "due_date": Ticket.due_date,
        "created_by": Nested(
            Ticket.created_by, {"kind": _accounts.c.kind, "id": _accounts.c.id, "name": _accounts.c.name}
        ),
        "created_at": Ticket.created_at,
        "updated_at": Ticket.updated_at,
        "closed_at": Ticket.closed_at,
        "rating": Nested(
            Ticket.rating,
            {
                "score": TicketRating.score,
                "comment": TicketRating.comment,
                "created_at": TicketRating.created_at,
            },
            present=TicketRating.ticket_id,
        ),
        "sla": Derived(sla.SLA_JSON, sla.sla_value),
        "schedule_id": Ticket.schedule_id,
    }
)
"""`TicketRead`, field by field: the list's items are written from it by PostgreSQL, the single ticket
is read from it off the ORM object. Its creator is the account joined on `created_by_id`, its rating
the row of `ticket_ratings` outer-joined on the ticket's id (in the same statement: nothing per ticket)."""
TICKET_READ.ensure_fields_of(TicketRead)


def ticket_page_select(
    shape: ScopeShape, filters: frozenset[str], with_cursor: bool, sort: TicketSort = DEFAULT_SORT
) -> Select[Any]:
    """The page of the list in the order `sort`: found on ids first (from the indexes alone), then
    only its rows are read, joined with their creator and turned into JSON. Rows: `item` (JSON
    text), `sort_key` (the order's timestamp), `id`."""
    keys = select(Ticket.id).where(
        _scope_condition(shape),
        *(LIST_FILTERS[name].where(shape.sees_internal) for name in sorted(filters)),
    )
    if with_cursor:
        keys = keys.where(
            sorting.after(
                sort,
                bindparam("cursor_created_at", type_=DateTime(timezone=True)),
                bindparam("cursor_id", type_=Uuid()),
            )
        )
    window = keys.order_by(*sorting.order_by(sort)).limit(bindparam("limit", type_=Integer())).subquery()
    return (
        select(TICKET_READ.json().label("item"), sorting.sort_key(sort).label(sorting.SORT_KEY), Ticket.id)
        .join(window, window.c.id == Ticket.id)
        .join(_accounts, _accounts.c.id == Ticket.created_by_id)
        .outerjoin(TicketRating, TicketRating.ticket_id == Ticket.id)
        .order_by(*sorting.order_by(sort))
    )


@functools.lru_cache(maxsize=512)
def ticket_page_statement(
    shape: ScopeShape, filters: frozenset[str], with_cursor: bool, sort: TicketSort = DEFAULT_SORT
) -> DriverStatement:
    """`ticket_page_select` compiled once per shape and order; every execution gives the scope's
    values, the filters', `limit` and, with a cursor, `cursor_created_at` (the timestamp of the
    order's column, whichever it is) and `cursor_id`."""
    return DriverStatement(ticket_page_select(shape, filters, with_cursor, sort))


async def ticket_page(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    given: Mapping[str, Any],
    sort: TicketSort = DEFAULT_SORT,
) -> list[DriverRow]:
    """One page (plus one row, to know whether another follows) of the tickets `principal` sees,
    narrowed by the filters `given` (name → value, see `tickets.filters`), in the order `sort`."""
    shape, params = _scope_of(principal)
    if shape.kind == "nothing":
        return []
    statement = ticket_page_statement(shape, frozenset(given), page.cursor is not None, sort)
    params |= given
    params["limit"] = page.limit + 1
    if page.cursor is not None:
        params["cursor_created_at"], params["cursor_id"] = page.cursor
    return await statement.fetch(await driver_connection(session), params)


# --- The CSV export: every ticket of the list's scope and filters, no paging --------------------------

RESOLUTION_DAYS = case(
    (Ticket.closed_at.is_(None), null()),
    # Never below 0, should a clock have stepped back between creation and closing.
    else_=func.greatest(
        literal_column("0"),
        func.floor(func.extract("epoch", Ticket.closed_at - Ticket.created_at) / literal_column("86400")),
    ),
).cast(Integer)
"""Whole days from creation to closing, `floor((closed_at - created_at) / 1 day)`; null while open.
The evaluation counts by it too. Its numbers are SQL literals, so that it compiles once (no values)."""

_assignees = _accounts.alias("assignee")


def ticket_export_select(
    shape: ScopeShape, filters: frozenset[str], sort: TicketSort = DEFAULT_SORT
) -> Select[Any]:
    """The export's rows in the order `sort` (as the list's), their cells in the order of
    `tickets.service.CSV_COLUMNS`: names of the site, type and assignee instead of their ids."""
    return (
        select(
            Ticket.number,
            Ticket.title,
            Ticket.status,
            Ticket.priority,
            Site.name.label("site"),
            TicketType.name.label("ticket_type"),
            _assignees.c.name.label("assignee"),
            Ticket.created_at,
            Ticket.closed_at,
            RESOLUTION_DAYS.label("resolution_days"),
        )
        .join(Site, Site.id == Ticket.site_id)
        .join(TicketType, TicketType.id == Ticket.ticket_type_id)
        .outerjoin(_assignees, _assignees.c.id == Ticket.assignee_id)
        .where(
            _scope_condition(shape),
            *(LIST_FILTERS[name].where(shape.sees_internal) for name in sorted(filters)),
        )
        .order_by(*sorting.order_by(sort))
    )


@functools.lru_cache(maxsize=256)
def ticket_export_statement(
    shape: ScopeShape, filters: frozenset[str], sort: TicketSort = DEFAULT_SORT
) -> DriverStatement:
    """`ticket_export_select` compiled once per shape and order; every execution gives the scope's
    values and the filters'."""
    return DriverStatement(ticket_export_select(shape, filters, sort))


async def ticket_export(
    session: AsyncSession,
    principal: Principal,
    given: Mapping[str, Any],
    batch_size: int,
    sort: TicketSort = DEFAULT_SORT,
) -> AsyncGenerator[list[Any], None]:
    """Every ticket `principal` sees, narrowed by the filters `given` (as `ticket_page`) in the order
    `sort`, in batches of rows read through a server-side cursor in `session`'s transaction (which
    this begins)."""
    shape, params = _scope_of(principal)
    if shape.kind == "nothing":
        return
    statement = ticket_export_statement(shape, frozenset(given), sort)
    connection = await driver_connection(session, transaction=True)
    async with aclosing(statement.batches(connection, params | dict(given), batch_size)) as batches:
        async for rows in batches:
            yield rows


def visible_tickets(principal: Principal) -> Select[Any]:
    # The rating is outer-joined into the same statement (a ticket has at most one).
    return (
        select(Ticket)
        .where(ticket_scope(principal))
        .options(selectinload(Ticket.created_by), joinedload(Ticket.rating))
    )


async def get_visible(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, *, for_update: bool = False
) -> Ticket | None:
    stmt = visible_tickets(principal).where(Ticket.id == ticket_id)
    if for_update:
        stmt = stmt.with_for_update(of=Ticket)
    return (await session.scalars(stmt)).first()


async def next_number(session: AsyncSession, tenant_id: uuid.UUID) -> str:
    """The tenant's next ticket number; the row lock serialises concurrent creations per tenant."""
    row = (
        await session.execute(
            update(Tenant)
            .where(Tenant.id == tenant_id)
            .values(last_ticket_number=Tenant.last_ticket_number + 1)
            .returning(Tenant.code, Tenant.last_ticket_number)
        )
    ).one()
    return f"{row.code}-{row.last_ticket_number:06d}"


_REFRESH_SEARCH = text(
    """
    UPDATE tickets t SET
      search_public =
        setweight(to_tsvector('german', t.title), 'A')
        || setweight(to_tsvector('german', coalesce(t.description, '')), 'B')
        || setweight(to_tsvector('german', coalesce((
             SELECT string_agg(c.body, ' ') FROM ticket_comments c
             WHERE c.ticket_id = t.id AND NOT c.internal), '')), 'C'),
      search_internal = to_tsvector('german', coalesce((
             SELECT string_agg(c.body, ' ') FROM ticket_comments c
             WHERE c.ticket_id = t.id AND c.internal), ''))
    WHERE t.id = :id
    """
)


async def refresh_search(session: AsyncSession, ticket_id: uuid.UUID) -> None:
    await session.execute(_REFRESH_SEARCH, {"id": ticket_id})


async def site_for_ticket(session: AsyncSession, principal: Principal, site_id: uuid.UUID) -> Site | None:
    return (await session.scalars(site_by_id(principal, site_id))).first()


async def employee_serves_tenant(session: AsyncSession, employee_id: uuid.UUID, tenant_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Employee.id)
        .join(employee_tenants, employee_tenants.c.employee_id == Employee.id)
        .where(Employee.id == employee_id, employee_tenants.c.tenant_id == tenant_id, Employee.is_active)
    )
    return found is not None


async def type_enabled_for_customer(
    session: AsyncSession, customer_id: uuid.UUID, ticket_type_id: uuid.UUID
) -> bool:
    enabled = enabled_types(customer_id).subquery()
    found = await session.scalar(
        select(enabled.c.ticket_type_id).where(enabled.c.ticket_type_id == ticket_type_id)
    )
    return found is not None


async def add_rating(
    session: AsyncSession, ticket_id: uuid.UUID, score: int, comment: str | None
) -> TicketRating | None:
    """Stores the ticket's rating; None when it already has one (the primary key decides, also between
    two requests at once: the later one waits for the first to commit, then stores nothing)."""
    stmt = (
        pg_insert(TicketRating)
        .values(ticket_id=ticket_id, score=score, comment=comment)
        .on_conflict_do_nothing(index_elements=[TicketRating.ticket_id])
        .returning(TicketRating)
    )
    return (await session.scalars(stmt)).first()


def add_event(
    session: AsyncSession,
    ticket_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    event: str,
    *,
    public: bool,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket_id,
            actor_id=actor_id,
            event=event,
            field=field,
            old_value=old,
            new_value=new,
            public=public,
        )
    )


def history(ticket_id: uuid.UUID, shown: ColumnElement[bool] | None = None) -> Select[Any]:
    """The ticket's events; with `shown`, only those meeting it."""
    stmt = (
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).options(selectinload(TicketEvent.actor))
    )
    if shown is not None:
        stmt = stmt.where(shown)
    return stmt


async def enabled_type_ids(
    session: AsyncSession, principal: CustomerUserPrincipal, among: set[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of `among` that are ticket types enabled for the customer user's customer."""
    enabled = enabled_types(principal.customer_id).subquery()
    found = await session.scalars(select(enabled.c.ticket_type_id).where(enabled.c.ticket_type_id.in_(among)))
    return set(found)


async def assigned_site_ids(
    session: AsyncSession, principal: CustomerUserPrincipal, among: set[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of `among` that are sites the customer user sees (its assigned ones)."""
    assigned = assigned_sites(principal.id, principal.customer_id).subquery()
    found = await session.scalars(select(assigned.c.site_id).where(assigned.c.site_id.in_(among)))
    return set(found)


def comments(ticket_id: uuid.UUID, *, include_internal: bool) -> Select[Any]:
    stmt = (
        select(TicketComment)
        .where(TicketComment.ticket_id == ticket_id)
        .options(selectinload(TicketComment.author))
    )
    if not include_internal:
        stmt = stmt.where(TicketComment.internal.is_(False))
    return stmt
