"""SQL for tickets, starting from the one statement that decides which tickets a principal sees."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, and_, false, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from blink_api.identity.models import Account, Employee, customer_user_sites, employee_tenants
from blink_api.identity.principals import CustomerUserPrincipal, EmployeePrincipal, Principal
from blink_api.sites.models import Site
from blink_api.tenants.models import Tenant
from blink_api.tickets.models import Ticket, TicketComment, TicketEvent, customer_ticket_types


def ticket_scope(principal: Principal) -> ColumnElement[bool]:
    """The condition a ticket must meet to be visible to `principal`; default deny.

    Employees: their tenants' tickets (admins: all). Customer users: tickets on the sites assigned
    to them, of their own customer, whose type is enabled for that customer.
    """
    if isinstance(principal, EmployeePrincipal):
        if principal.is_admin:
            return Ticket.id.is_not(None)
        if not principal.tenant_ids:
            return false()
        return Ticket.tenant_id.in_(principal.tenant_ids)
    if isinstance(principal, CustomerUserPrincipal):
        return and_(
            Ticket.site_id.in_(
                select(customer_user_sites.c.site_id)
                .join(Site, Site.id == customer_user_sites.c.site_id)
                .where(
                    customer_user_sites.c.customer_user_id == principal.id,
                    Site.customer_id == principal.customer_id,
                )
            ),
            Ticket.ticket_type_id.in_(
                select(customer_ticket_types.c.ticket_type_id).where(
                    customer_ticket_types.c.customer_id == principal.customer_id
                )
            ),
        )
    return false()


def visible_ticket_keys(principal: Principal) -> Select[Any]:
    """Ids of the visible tickets: a list finds its page on these first (from the indexes alone)."""
    return select(Ticket.id).where(ticket_scope(principal))


def ticket_rows(page_keys: Subquery) -> Select[Any]:
    """The list columns, with the creator's kind and name, of just the tickets of one page."""
    return (
        select(
            *Ticket.__table__.c[*_LIST_COLUMNS],
            Account.kind.label("creator_kind"),
            Account.name.label("creator_name"),
        )
        .join(page_keys, page_keys.c.id == Ticket.id)
        .join(Account, Account.id == Ticket.created_by_id)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    )


_LIST_COLUMNS = (
    "id",
    "number",
    "tenant_id",
    "site_id",
    "ticket_type_id",
    "title",
    "description",
    "status",
    "assignee_id",
    "due_date",
    "created_by_id",
    "created_at",
    "updated_at",
    "closed_at",
)


def visible_tickets(principal: Principal) -> Select[Any]:
    return select(Ticket).where(ticket_scope(principal)).options(selectinload(Ticket.created_by))


async def get_visible(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, *, for_update: bool = False
) -> Ticket | None:
    stmt = visible_tickets(principal).where(Ticket.id == ticket_id)
    if for_update:
        stmt = stmt.with_for_update(of=Ticket)
    return (await session.scalars(stmt)).first()


def filtered(
    stmt: Select[Any],
    principal: Principal,
    *,
    site_id: uuid.UUID | None,
    status: str | None,
    ticket_type_id: uuid.UUID | None,
    assignee_id: uuid.UUID | None,
    q: str | None,
    created_from: dt.datetime | None,
    created_to: dt.datetime | None,
) -> Select[Any]:
    if site_id is not None:
        stmt = stmt.where(Ticket.site_id == site_id)
    if status is not None:
        stmt = stmt.where(Ticket.status == status)
    if ticket_type_id is not None:
        stmt = stmt.where(Ticket.ticket_type_id == ticket_type_id)
    if assignee_id is not None:
        stmt = stmt.where(Ticket.assignee_id == assignee_id)
    if created_from is not None:
        stmt = stmt.where(Ticket.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(Ticket.created_at <= created_to)
    if q:
        query = func.websearch_to_tsquery(text("'german'"), q)
        condition = Ticket.search_public.op("@@")(query)
        if isinstance(principal, EmployeePrincipal):
            # Internal notes are searchable for employees only: a customer's search must not reveal them.
            condition = or_(condition, Ticket.search_internal.op("@@")(query))
        stmt = stmt.where(condition)
    return stmt


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
    from blink_api.sites.repository import site_by_id

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
    found = await session.scalar(
        select(customer_ticket_types.c.ticket_type_id).where(
            customer_ticket_types.c.customer_id == customer_id,
            customer_ticket_types.c.ticket_type_id == ticket_type_id,
        )
    )
    return found is not None


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


def history(ticket_id: uuid.UUID, *, public_only: bool) -> Select[Any]:
    stmt = (
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).options(selectinload(TicketEvent.actor))
    )
    if public_only:
        stmt = stmt.where(TicketEvent.public)
    return stmt


def comments(ticket_id: uuid.UUID, *, include_internal: bool) -> Select[Any]:
    stmt = (
        select(TicketComment)
        .where(TicketComment.ticket_id == ticket_id)
        .options(selectinload(TicketComment.author))
    )
    if not include_internal:
        stmt = stmt.where(TicketComment.internal.is_(False))
    return stmt
