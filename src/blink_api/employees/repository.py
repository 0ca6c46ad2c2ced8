"""SQL for employees and permission groups."""

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from blink_api.identity.models import Employee, employee_tenants
from blink_api.identity.principals import EmployeePrincipal


def visible_employees(principal: EmployeePrincipal) -> Select[Any]:
    """Admins see everyone; other employees see colleagues sharing a tenant (to pick assignees)."""
    stmt = select(Employee).options(selectinload(Employee.tenants), selectinload(Employee.permission_groups))
    if not principal.is_admin:
        stmt = stmt.where(
            Employee.id.in_(
                select(employee_tenants.c.employee_id).where(
                    employee_tenants.c.tenant_id.in_(principal.tenant_ids)
                )
            )
        )
    return stmt


def employee_by_id(principal: EmployeePrincipal, employee_id: uuid.UUID) -> Select[Any]:
    return visible_employees(principal).where(Employee.id == employee_id)
