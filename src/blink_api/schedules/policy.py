"""Who may plan recurring work: each `why_not_*` rule answers None or the reason it refuses."""

from __future__ import annotations

from blink_api.identity.principals import SCHEDULES_MANAGE, EmployeePrincipal, Principal


def why_not_manage(principal: Principal) -> str | None:
    """Administrators, and employees holding `schedules:manage` (on their own tenants' schedules:
    the others are out of their scope, 404). Asked before anything is looked up, so the refusal tells
    nothing about what exists."""
    if not isinstance(principal, EmployeePrincipal):
        return "Only employees may manage schedules."
    if not principal.is_admin and SCHEDULES_MANAGE not in principal.permissions:
        return f"Managing schedules needs the permission '{SCHEDULES_MANAGE}'."
    return None
