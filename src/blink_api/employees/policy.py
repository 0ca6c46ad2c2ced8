"""What an administrator may do to an employee account it can see, beyond the permission rules of
`identity.principals`: each rule answers None or the reason it refuses. These keep administrators
from locking themselves out; the service answers them with 409."""

from __future__ import annotations

from blink_api.identity.models import Employee
from blink_api.identity.principals import EmployeePrincipal


def why_not_demote_or_deactivate(
    principal: EmployeePrincipal, employee: Employee, *, is_admin: bool | None, is_active: bool | None
) -> str | None:
    """Setting `is_admin` and `is_active` (None: left as it is)."""
    if employee.id == principal.id and (is_admin is False or is_active is False):
        return "You cannot take away your own administrator rights or deactivate yourself."
    return None


def why_not_delete(principal: EmployeePrincipal, employee: Employee) -> str | None:
    if employee.id == principal.id:
        return "You cannot delete yourself."
    return None
