"""Employee and permission-group rules."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.employees import policy
from blink_api.employees import repository as repo
from blink_api.employees.schemas import (
    EmployeeCreate,
    EmployeeRead,
    EmployeeUpdate,
    PermissionGroupCreate,
    PermissionGroupRead,
    PermissionGroupUpdate,
)
from blink_api.identity import repository as identity_repo
from blink_api.identity import service as identity
from blink_api.identity.models import Employee, PermissionGroup
from blink_api.identity.principals import (
    EmployeePrincipal,
    Holding,
    ensure,
    why_not_change_holding,
    why_not_grant,
    why_not_manage_account,
)
from blink_api.kit.context import AppContext
from blink_api.kit.errors import Conflict
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.rows import apply_changes, delete_or_409, flush_unique, one_or_404, require_all_exist
from blink_api.notifications.service import enqueue_invitation
from blink_api.tenants.models import Tenant

# -- permission groups ---------------------------------------------------------------------------


async def list_groups(session: AsyncSession, page: PageParams) -> Page[PermissionGroupRead]:
    rows, cursor = await paginate(
        session, select(PermissionGroup), page, created_at=PermissionGroup.created_at, id_=PermissionGroup.id
    )
    return Page[PermissionGroupRead](
        items=[PermissionGroupRead.model_validate(r) for r in rows], next_cursor=cursor
    )


async def get_group(session: AsyncSession, group_id: uuid.UUID) -> PermissionGroup:
    return await one_or_404(
        session, select(PermissionGroup).where(PermissionGroup.id == group_id), "Permission group"
    )


def _group_exists(name: str) -> str:
    return f"A permission group named '{name}' exists already."


async def create_group(
    session: AsyncSession, principal: EmployeePrincipal, body: PermissionGroupCreate
) -> PermissionGroup:
    ensure(why_not_grant(principal, (), body.permissions))
    group = PermissionGroup(name=body.name, permissions=sorted(set(body.permissions)))
    session.add(group)
    await flush_unique(session, _group_exists(body.name))
    return group


async def update_group(
    session: AsyncSession, principal: EmployeePrincipal, group_id: uuid.UUID, body: PermissionGroupUpdate
) -> PermissionGroup:
    """Renaming is anyone's; what the group grants its members changes only within the caller's own."""
    group = await get_group(session, group_id)
    if body.permissions is not None:
        ensure(why_not_grant(principal, group.permissions, body.permissions))
        body = body.model_copy(update={"permissions": sorted(set(body.permissions))})
    apply_changes(group, body)
    await flush_unique(session, _group_exists(group.name))
    return group


async def delete_group(session: AsyncSession, group_id: uuid.UUID) -> None:
    """Only a group nobody holds can go (409 otherwise), so deleting one takes nothing from anyone."""
    group = await get_group(session, group_id)
    await delete_or_409(session, group, "The permission group")


# -- employees -----------------------------------------------------------------------------------


async def list_employees(
    session: AsyncSession, principal: EmployeePrincipal, page: PageParams, tenant_id: uuid.UUID | None = None
) -> Page[EmployeeRead]:
    stmt = repo.visible_employees(principal)
    if tenant_id is not None:
        stmt = stmt.where(Employee.tenants.any(Tenant.id == tenant_id))
    rows, cursor = await paginate(session, stmt, page, created_at=Employee.created_at, id_=Employee.id)
    return Page[EmployeeRead](items=[EmployeeRead.model_validate(r) for r in rows], next_cursor=cursor)


async def get_employee(
    session: AsyncSession, principal: EmployeePrincipal, employee_id: uuid.UUID
) -> Employee:
    return await one_or_404(session, repo.employee_by_id(principal, employee_id), "Employee")


def _holding(is_admin: bool, groups: list[PermissionGroup]) -> Holding:
    return Holding(is_admin=is_admin, permissions=frozenset(p for g in groups for p in g.permissions))


async def _require_free_email(session: AsyncSession, email: str, except_id: uuid.UUID | None = None) -> None:
    if await identity_repo.email_taken(session, email, except_id=except_id):
        raise Conflict("An account with this e-mail address exists already.")


async def create_employee(
    ctx: AppContext, session: AsyncSession, principal: EmployeePrincipal, body: EmployeeCreate
) -> Employee:
    email = identity.normalize_email(body.email)
    await _require_free_email(session, email)
    tenants = await require_all_exist(session, Tenant, body.tenant_ids, ["body", "tenant_ids"], "tenant")
    groups = await require_all_exist(
        session,
        PermissionGroup,
        body.permission_group_ids,
        ["body", "permission_group_ids"],
        "permission group",
    )
    ensure(why_not_change_holding(principal, _holding(False, []), _holding(body.is_admin, groups)))
    employee = Employee(
        email=email,
        name=body.name,
        is_admin=body.is_admin,
        notify_unassigned=body.notify_unassigned,
        locale=body.locale,
        tenants=tenants,
        permission_groups=groups,
        password_hash=(
            await identity.hash_new_password(ctx, body.password, email=email, name=body.name)
            if body.password is not None
            else None
        ),
    )
    session.add(employee)
    await flush_unique(session, "An account with this e-mail address exists already.")
    if body.password is None:
        token = await identity.create_password_link(ctx, session, employee.id, "invitation")
        await enqueue_invitation(
            session,
            recipient=email,
            name=employee.name,
            locale=employee.locale,
            portal=False,
            link=f"{ctx.settings.portal_base_url.rstrip('/')}/set-password?token={token}",
        )
    return employee


async def update_employee(
    ctx: AppContext,
    session: AsyncSession,
    principal: EmployeePrincipal,
    employee_id: uuid.UUID,
    body: EmployeeUpdate,
) -> Employee:
    """Every rule is checked before anything changes; tenants, name, locale and mail settings are any
    administrator's to change (administrators serve every tenant anyway)."""
    await repo.lock_employee(session, employee_id)
    employee = await get_employee(session, principal, employee_id)
    reason = policy.why_not_demote_or_deactivate(
        principal, employee, is_admin=body.is_admin, is_active=body.is_active
    )
    if reason is not None:
        raise Conflict(reason)
    before = _holding(employee.is_admin, employee.permission_groups)
    groups = employee.permission_groups
    if body.permission_group_ids is not None:
        groups = await require_all_exist(
            session,
            PermissionGroup,
            body.permission_group_ids,
            ["body", "permission_group_ids"],
            "permission group",
        )
    is_admin = employee.is_admin if body.is_admin is None else body.is_admin
    ensure(why_not_change_holding(principal, before, _holding(is_admin, groups)))
    if body.email is not None:
        body = body.model_copy(update={"email": identity.normalize_email(body.email)})
    if body.email is not None and body.email != employee.email:
        ensure(why_not_manage_account(principal, before, "change the e-mail address of"))
        await _require_free_email(session, body.email, except_id=employee.id)
    if body.password is not None:
        ensure(why_not_manage_account(principal, before, "change the password of"))
    if body.is_active is not None and body.is_active != employee.is_active:
        ensure(why_not_manage_account(principal, before, "deactivate or reactivate"))
    links_before = ({t.id for t in employee.tenants}, {g.id for g in employee.permission_groups})
    if body.tenant_ids is not None:
        employee.tenants = await require_all_exist(
            session, Tenant, body.tenant_ids, ["body", "tenant_ids"], "tenant"
        )
    if body.permission_group_ids is not None:
        employee.permission_groups = groups
    changes = apply_changes(employee, body, skip={"password", "tenant_ids", "permission_group_ids"})
    if changes or links_before != (
        {t.id for t in employee.tenants},
        {g.id for g in employee.permission_groups},
    ):
        # Fields of the employees table and the link tables leave the accounts row, which holds
        # `updated_at`, untouched: it is set here for every change.
        employee.updated_at = dt.datetime.now(dt.UTC)
    if body.password is not None:
        await identity.set_password_hash(ctx, employee, body.password)
    elif "is_active" in changes and not employee.is_active:
        employee.token_version += 1
    if "is_active" in changes and not employee.is_active:
        # Deactivation ends API tokens for good: a reactivated account makes new ones.
        await identity_repo.delete_api_tokens_of(session, employee.id)
    await flush_unique(session, "An account with this e-mail address exists already.")
    return employee


async def delete_employee(
    session: AsyncSession, principal: EmployeePrincipal, employee_id: uuid.UUID
) -> None:
    employee = await get_employee(session, principal, employee_id)
    if (reason := policy.why_not_delete(principal, employee)) is not None:
        raise Conflict(reason)
    holding = _holding(employee.is_admin, employee.permission_groups)
    ensure(why_not_manage_account(principal, holding, "delete"))
    await delete_or_409(session, employee, "The employee")
