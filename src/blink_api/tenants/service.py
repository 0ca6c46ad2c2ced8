"""Tenant rules: admins manage them, employees see their own."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.identity.principals import EmployeePrincipal
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.rows import apply_changes, delete_or_409, flush_unique, one_or_404
from blink_api.tenants import repository as repo
from blink_api.tenants.models import Tenant
from blink_api.tenants.schemas import TenantCreate, TenantRead, TenantUpdate


async def list_tenants(
    session: AsyncSession, principal: EmployeePrincipal, page: PageParams
) -> Page[TenantRead]:
    rows, cursor = await paginate(
        session, repo.visible_tenants(principal), page, created_at=Tenant.created_at, id_=Tenant.id
    )
    return Page[TenantRead](items=[TenantRead.model_validate(r) for r in rows], next_cursor=cursor)


async def get_tenant(session: AsyncSession, principal: EmployeePrincipal, tenant_id: uuid.UUID) -> Tenant:
    return await one_or_404(session, repo.tenant_by_id(principal, tenant_id), "Tenant")


async def create_tenant(session: AsyncSession, body: TenantCreate) -> Tenant:
    tenant = Tenant(name=body.name, code=body.code)
    session.add(tenant)
    await flush_unique(session, f"A tenant with the code {body.code} exists already.")
    return tenant


async def update_tenant(
    session: AsyncSession, principal: EmployeePrincipal, tenant_id: uuid.UUID, body: TenantUpdate
) -> Tenant:
    tenant = await get_tenant(session, principal, tenant_id)
    apply_changes(tenant, body)
    await flush_unique(session, f"A tenant with the code {tenant.code} exists already.")
    return tenant


async def delete_tenant(session: AsyncSession, principal: EmployeePrincipal, tenant_id: uuid.UUID) -> None:
    tenant = await get_tenant(session, principal, tenant_id)
    await delete_or_409(session, tenant, "The tenant")
