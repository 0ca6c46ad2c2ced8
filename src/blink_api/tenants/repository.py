"""SQL for tenants."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.identity.principals import EmployeePrincipal
from blink_api.identity.scope import served_tenants
from blink_api.tenants.models import BusinessHours, Tenant


def visible_tenants(principal: EmployeePrincipal) -> Select[Any]:
    return select(Tenant).where(served_tenants(principal, Tenant.id))


def tenant_by_id(principal: EmployeePrincipal, tenant_id: uuid.UUID) -> Select[Any]:
    return visible_tenants(principal).where(Tenant.id == tenant_id)


async def business_hours(session: AsyncSession, tenant_id: uuid.UUID) -> BusinessHours | None:
    """The tenant's saved calendar, read afresh (another process may have changed it)."""
    return (
        await session.execute(
            select(BusinessHours)
            .where(BusinessHours.tenant_id == tenant_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def save_business_hours(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    timezone: str,
    weekly: dict[str, list[list[str]]],
    holidays_region: str | None,
    closed_dates: list[date],
) -> BusinessHours:
    """Insert or replace the tenant's calendar in one statement (two concurrent saves: the later wins)."""
    values = {
        "timezone": timezone,
        "weekly": weekly,
        "holidays_region": holidays_region,
        "closed_dates": closed_dates,
    }
    statement = (
        insert(BusinessHours)
        .values(tenant_id=tenant_id, **values)
        .on_conflict_do_update(
            index_elements=[BusinessHours.tenant_id], set_={**values, "updated_at": func.now()}
        )
        .returning(BusinessHours)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one()
