"""Ticket type rules: admins manage them; employees read their tenants' types."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.identity.principals import EmployeePrincipal
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.rows import apply_changes, delete_or_409, flush_unique, one_or_404, require_exists
from blink_api.tenants.models import Tenant
from blink_api.ticket_types import repository as repo
from blink_api.ticket_types.models import TicketCategory, TicketType
from blink_api.ticket_types.schemas import TicketTypeCreate, TicketTypeRead, TicketTypeUpdate


async def list_ticket_types(
    session: AsyncSession,
    principal: EmployeePrincipal,
    page: PageParams,
    tenant_id: uuid.UUID | None = None,
    category: TicketCategory | None = None,
) -> Page[TicketTypeRead]:
    stmt = repo.visible_ticket_types(principal)
    if tenant_id is not None:
        stmt = stmt.where(TicketType.tenant_id == tenant_id)
    if category is not None:
        stmt = stmt.where(TicketType.category == category)
    rows, cursor = await paginate(session, stmt, page, created_at=TicketType.created_at, id_=TicketType.id)
    return Page[TicketTypeRead](items=[TicketTypeRead.model_validate(r) for r in rows], next_cursor=cursor)


async def get_ticket_type(
    session: AsyncSession, principal: EmployeePrincipal, ticket_type_id: uuid.UUID
) -> TicketType:
    return await one_or_404(session, repo.ticket_type_by_id(principal, ticket_type_id), "Ticket type")


def _duplicate(name: str) -> str:
    return f"The tenant has a ticket type named '{name}' already."


async def create_ticket_type(session: AsyncSession, body: TicketTypeCreate) -> TicketType:
    await require_exists(session, Tenant, body.tenant_id, ["body", "tenant_id"], "tenant")
    ticket_type = TicketType(tenant_id=body.tenant_id, name=body.name, category=body.category.value)
    session.add(ticket_type)
    await flush_unique(session, _duplicate(body.name))
    return ticket_type


async def update_ticket_type(
    session: AsyncSession, principal: EmployeePrincipal, ticket_type_id: uuid.UUID, body: TicketTypeUpdate
) -> TicketType:
    ticket_type = await get_ticket_type(session, principal, ticket_type_id)
    apply_changes(ticket_type, body)
    await flush_unique(session, _duplicate(ticket_type.name))
    return ticket_type


async def delete_ticket_type(
    session: AsyncSession, principal: EmployeePrincipal, ticket_type_id: uuid.UUID
) -> None:
    ticket_type = await get_ticket_type(session, principal, ticket_type_id)
    await delete_or_409(session, ticket_type, "The ticket type")
