"""HTTP endpoints of tenants."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from blink_api.identity.dependencies import AdminEmployee, CurrentEmployee
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination
from blink_api.tenants import service
from blink_api.tenants.schemas import TenantCreate, TenantRead, TenantUpdate

router = APIRouter(prefix="/tenants", tags=["tenants"])

TenantId = Annotated[uuid.UUID, Path(description="The tenant's id.")]


@router.get("", name="tenants:list", responses=problem_responses(401, 403, 422))
async def list_tenants(session: DbSession, employee: CurrentEmployee, page: Pagination) -> Page[TenantRead]:
    """Employees only, newest first: admins see every tenant, other employees the tenants they belong to."""
    return await service.list_tenants(session, employee, page)


@router.post(
    "",
    name="tenants:create",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses("The new tenant (`GET /tenants/{tenant_id}`)."),
        **problem_responses(401, 403, 409, 422),
    },
)
async def create_tenant(
    session: DbSession, admin: AdminEmployee, body: TenantCreate, request: Request, response: Response
) -> TenantRead:
    """Administrators only. 409 when another tenant has the code."""
    created = TenantRead.model_validate(await service.create_tenant(session, body))
    response.headers["Location"] = location(request, "tenants:read", tenant_id=created.id)
    return created


@router.get("/{tenant_id}", name="tenants:read", responses=problem_responses(401, 403, 404, 422))
async def read_tenant(session: DbSession, employee: CurrentEmployee, tenant_id: TenantId) -> TenantRead:
    """Employees only: admins read every tenant, other employees the tenants they belong to (404 for
    the rest)."""
    return TenantRead.model_validate(await service.get_tenant(session, employee, tenant_id))


@router.patch("/{tenant_id}", name="tenants:update", responses=problem_responses(401, 403, 404, 409, 422))
async def update_tenant(
    session: DbSession, admin: AdminEmployee, tenant_id: TenantId, body: TenantUpdate
) -> TenantRead:
    """Administrators only; only the fields sent change. 409 when another tenant has the code."""
    return TenantRead.model_validate(await service.update_tenant(session, admin, tenant_id, body))


@router.delete(
    "/{tenant_id}",
    name="tenants:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_tenant(session: DbSession, admin: AdminEmployee, tenant_id: TenantId) -> None:
    """Administrators only. Refused with 409 while sites, ticket types or employees still belong to
    the tenant."""
    await service.delete_tenant(session, admin, tenant_id)
