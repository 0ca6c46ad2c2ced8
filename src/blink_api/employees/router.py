"""HTTP endpoints of employees and permission groups."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from blink_api.employees import service
from blink_api.employees.schemas import (
    EmployeeCreate,
    EmployeeRead,
    EmployeeUpdate,
    PermissionGroupCreate,
    PermissionGroupRead,
    PermissionGroupUpdate,
)
from blink_api.identity.dependencies import AdminEmployee, CurrentEmployee
from blink_api.kit.context import Ctx
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination

router = APIRouter(prefix="/employees", tags=["employees"])

EmployeeId = Annotated[uuid.UUID, Path(description="The employee's id.")]
GroupId = Annotated[uuid.UUID, Path(description="The permission group's id.")]


@router.get("", name="employees:list", responses=problem_responses(401, 403, 422))
async def list_employees(
    session: DbSession,
    employee: CurrentEmployee,
    page: Pagination,
    tenant_id: Annotated[
        uuid.UUID | None, Query(description="Only employees belonging to this tenant.")
    ] = None,
) -> Page[EmployeeRead]:
    """Employees only, newest first. Admins see every employee; other employees see the colleagues of
    their tenants."""
    return await service.list_employees(session, employee, page, tenant_id)


@router.post(
    "",
    name="employees:create",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses("The new employee (`GET /employees/{employee_id}`)."),
        **problem_responses(401, 403, 409, 422),
    },
)
async def create_employee(
    ctx: Ctx,
    session: DbSession,
    admin: AdminEmployee,
    body: EmployeeCreate,
    request: Request,
    response: Response,
) -> EmployeeRead:
    """Administrators only. Without `password`, the employee is mailed a single-use link to set one
    (`POST /auth/password`). 409 when an account (employee or customer user) has the e-mail address.

    403 when the new employee would hold a permission (through its groups) the caller does not hold.
    """
    created = EmployeeRead.model_validate(await service.create_employee(ctx, session, admin, body))
    response.headers["Location"] = location(request, "employees:read", employee_id=created.id)
    return created


@router.get("/{employee_id}", name="employees:read", responses=problem_responses(401, 403, 404, 422))
async def read_employee(
    session: DbSession, employee: CurrentEmployee, employee_id: EmployeeId
) -> EmployeeRead:
    """Employees only: admins read anyone, other employees the colleagues of their tenants (404 for
    the rest)."""
    return EmployeeRead.model_validate(await service.get_employee(session, employee, employee_id))


@router.patch("/{employee_id}", name="employees:update", responses=problem_responses(401, 403, 404, 409, 422))
async def update_employee(
    ctx: Ctx, session: DbSession, admin: AdminEmployee, employee_id: EmployeeId, body: EmployeeUpdate
) -> EmployeeRead:
    """Administrators only; only the fields sent change. A new password or deactivation ends every
    session the employee has.

    403 when the change grants or takes away a permission the caller does not hold (through
    `permission_group_ids` or `is_admin`), or changes the password or e-mail address of, deactivates or
    reactivates an employee holding such a permission.
    """
    return EmployeeRead.model_validate(await service.update_employee(ctx, session, admin, employee_id, body))


@router.delete(
    "/{employee_id}",
    name="employees:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_employee(session: DbSession, admin: AdminEmployee, employee_id: EmployeeId) -> None:
    """Administrators only. Refused with 409 while the employee's work is on record; deactivate instead.

    403 for an employee holding a permission the caller does not hold.
    """
    await service.delete_employee(session, admin, employee_id)


groups_router = APIRouter(prefix="/permission-groups", tags=["permission-groups"])


@groups_router.get("", name="permission-groups:list", responses=problem_responses(401, 403, 422))
async def list_groups(
    session: DbSession, admin: AdminEmployee, page: Pagination
) -> Page[PermissionGroupRead]:
    """Administrators only: every permission group, newest first."""
    return await service.list_groups(session, page)


@groups_router.post(
    "",
    name="permission-groups:create",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses("The new permission group (`GET /permission-groups/{permission_group_id}`)."),
        **problem_responses(401, 403, 409, 422),
    },
)
async def create_group(
    session: DbSession,
    admin: AdminEmployee,
    body: PermissionGroupCreate,
    request: Request,
    response: Response,
) -> PermissionGroupRead:
    """Administrators only. 403 for a permission the caller does not hold itself: nobody grants what
    it lacks. 409 when a group has the name already."""
    created = PermissionGroupRead.model_validate(await service.create_group(session, admin, body))
    response.headers["Location"] = location(request, "permission-groups:read", permission_group_id=created.id)
    return created


@groups_router.get(
    "/{permission_group_id}", name="permission-groups:read", responses=problem_responses(401, 403, 404, 422)
)
async def read_group(
    session: DbSession, admin: AdminEmployee, permission_group_id: GroupId
) -> PermissionGroupRead:
    """Administrators only."""
    return PermissionGroupRead.model_validate(await service.get_group(session, permission_group_id))


@groups_router.patch(
    "/{permission_group_id}",
    name="permission-groups:update",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_group(
    session: DbSession, admin: AdminEmployee, permission_group_id: GroupId, body: PermissionGroupUpdate
) -> PermissionGroupRead:
    """Administrators only; only the fields sent change. The employees of the group hold the new
    permissions from their next request. 403 when adding or removing a permission the caller does
    not hold itself; renaming is free."""
    return PermissionGroupRead.model_validate(
        await service.update_group(session, admin, permission_group_id, body)
    )


@groups_router.delete(
    "/{permission_group_id}",
    name="permission-groups:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_group(session: DbSession, admin: AdminEmployee, permission_group_id: GroupId) -> None:
    """Administrators only. Refused with 409 while employees hold the group."""
    await service.delete_group(session, permission_group_id)
