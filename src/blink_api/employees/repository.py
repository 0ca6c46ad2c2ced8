"""SQL for employees and permission groups."""

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from blink_api.identity.models import Employee, employee_tenants
from blink_api.identity.principals import EmployeePrincipal
from blink_api.identity.scope import served_tenants


def visible_employees(principal: EmployeePrincipal) -> Select[Any]:
    """Admins see everyone; other employees see colleagues sharing a tenant (to pick assignees)."""
    stmt = select(Employee).options(selectinload(Employee.tenants), selectinload(Employee.permission_groups))
    if principal.is_admin:
        return stmt  # those serving no tenant too
    return stmt.where(
        Employee.id.in_(
            select(employee_tenants.c.employee_id).where(
                served_tenants(principal, employee_tenants.c.tenant_id)
            )
        )
    )


def employee_by_id(principal: EmployeePrincipal, employee_id: uuid.UUID) -> Select[Any]:
    return visible_employees(principal).where(Employee.id == employee_id)


async def lock_employee(session: AsyncSession, employee_id: uuid.UUID) -> None:
    """Hold the employee's row for this transaction: changes of one employee (its tenants and groups
    are rows of link tables, replaced as a whole) happen one after the other, each on what the one
    before left. Taken before the employee is read, so what is read is what the lock protects."""
    await session.execute(select(Employee.id).where(Employee.id == employee_id).with_for_update())
