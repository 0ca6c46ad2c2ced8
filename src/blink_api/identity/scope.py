"""What a caller sees because of who it is: the building blocks every visibility statement that
depends on the caller's kind or tenants is composed from. Each is written here once.

The blocks that depend on the customer portal's configuration (which sites a customer user is
assigned, which ticket types its customer sees) are in `customers.scope`: they read the portal's
tables, which the identity package sits below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, false, true

from blink_api.identity.principals import EmployeePrincipal, Principal


def tenant_among(column: ColumnElement[Any], tenant_ids: Sequence[Any]) -> ColumnElement[bool]:
    """`column` names one of these tenants (values or bound parameters); none given: nothing matches.

    One comparison per tenant, not `= ANY(array)`: an employee of one tenant then compares with `=`,
    and PostgreSQL reads a (tenant_id, ...) index in its order."""
    if not tenant_ids:
        return false()
    return column.in_(list(tenant_ids))


def served_tenants(principal: Principal, column: ColumnElement[Any]) -> ColumnElement[bool]:
    """Rows whose tenant (`column`) the caller serves: administrators every tenant, other employees
    their own tenants, customer users none (what they see is decided by the portal's blocks)."""
    if not isinstance(principal, EmployeePrincipal):
        return false()
    if principal.is_admin:
        return true()
    return tenant_among(column, sorted(principal.tenant_ids))


def sees_internal_notes(principal: Principal) -> bool:
    """Internal notes, the events they cause and their text in search: employees only. For customer
    users an internal note does not exist."""
    return isinstance(principal, EmployeePrincipal)
