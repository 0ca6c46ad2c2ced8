"""SQL for customers' portal settings, customer users and the configuration audit trail."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, column, delete, insert, select, table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from blink_api.customers.models import (
    ConfigChange,
    Customer,
    DocumentSource,
    Site,
    customer_report_templates,
    customer_ticket_types,
)
from blink_api.identity.models import CustomerUser
from blink_api.tenants.models import Tenant
from blink_api.ticket_types.models import TicketType


def customer_users(customer_id: uuid.UUID | None = None) -> Select[Any]:
    stmt = select(CustomerUser).options(selectinload(CustomerUser.sites))
    if customer_id is not None:
        stmt = stmt.where(CustomerUser.customer_id == customer_id)
    return stmt


async def enabled_type_ids(session: AsyncSession, customer_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(customer_ticket_types.c.ticket_type_id)
        .where(customer_ticket_types.c.customer_id == customer_id)
        .order_by(customer_ticket_types.c.ticket_type_id)
    )
    return list(rows)


async def document_sources(session: AsyncSession, customer_id: uuid.UUID) -> list[DocumentSource]:
    rows = await session.scalars(
        select(DocumentSource)
        .where(DocumentSource.customer_id == customer_id)
        .order_by(DocumentSource.ticket_type_id)
    )
    return list(rows)


async def report_template_ids(session: AsyncSession, customer_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(customer_report_templates.c.template_id)
        .where(customer_report_templates.c.customer_id == customer_id)
        .order_by(customer_report_templates.c.template_id)
    )
    return list(rows)


# Form templates sit above the portal (the forms package reads the portal's settings, not the other
# way round): the portal names the two columns it checks a chosen template by.
_form_templates = table("form_templates", column("id"), column("published_version"))


async def existing_templates(
    session: AsyncSession, template_ids: list[uuid.UUID], *, drafts: bool
) -> set[uuid.UUID]:
    """Those of the ids that name a form template; without `drafts`, only templates with a published
    version (what an employee who does not manage templates sees of them)."""
    stmt = select(_form_templates.c.id).where(_form_templates.c.id.in_(template_ids))
    if not drafts:
        stmt = stmt.where(_form_templates.c.published_version.is_not(None))
    return set(await session.scalars(stmt))


async def replace_ticket_settings(
    session: AsyncSession,
    customer_id: uuid.UUID,
    enabled: list[uuid.UUID],
    sources: list[tuple[uuid.UUID, list[str] | None]],
    report_templates: list[uuid.UUID],
) -> None:
    await session.execute(
        delete(customer_ticket_types).where(customer_ticket_types.c.customer_id == customer_id)
    )
    await session.execute(delete(DocumentSource).where(DocumentSource.customer_id == customer_id))
    await session.execute(
        delete(customer_report_templates).where(customer_report_templates.c.customer_id == customer_id)
    )
    if enabled:
        await session.execute(
            insert(customer_ticket_types),
            [{"customer_id": customer_id, "ticket_type_id": t} for t in enabled],
        )
    if sources:
        await session.execute(
            insert(DocumentSource),
            [{"customer_id": customer_id, "ticket_type_id": t, "content_types": c} for t, c in sources],
        )
    if report_templates:
        await session.execute(
            insert(customer_report_templates),
            [{"customer_id": customer_id, "template_id": t} for t in report_templates],
        )


async def types_with_tenants(
    session: AsyncSession, type_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[TicketType, Tenant]]:
    rows = await session.execute(
        select(TicketType, Tenant)
        .join(Tenant, Tenant.id == TicketType.tenant_id)
        .where(TicketType.id.in_(type_ids))
    )
    return {t.id: (t, tenant) for t, tenant in rows}


async def tenants_of_customer_sites(session: AsyncSession, customer_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        await session.scalars(select(Site.tenant_id).where(Site.customer_id == customer_id).distinct())
    )


def customer_by_id(customer_id: uuid.UUID, *, lock: bool = False) -> Select[Any]:
    stmt = select(Customer).where(Customer.id == customer_id)
    if lock:
        stmt = stmt.with_for_update()
    return stmt


def changes(customer_id: uuid.UUID) -> Select[Any]:
    return select(ConfigChange).where(ConfigChange.customer_id == customer_id)
