"""Who is making a request: one type per kind of caller, and the small policies on them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from blink_api.errors import Forbidden

INSIGHT_MANAGE = "insight:manage"
CHECK_TEMPLATES_MANAGE = "check:templates:manage"


@dataclass(frozen=True, slots=True)
class EmployeePrincipal:
    id: uuid.UUID
    email: str
    name: str
    is_admin: bool
    tenant_ids: frozenset[uuid.UUID]
    permissions: frozenset[str]
    kind: Literal["employee"] = "employee"

    def serves_tenant(self, tenant_id: uuid.UUID) -> bool:
        return self.is_admin or tenant_id in self.tenant_ids


@dataclass(frozen=True, slots=True)
class CustomerUserPrincipal:
    id: uuid.UUID
    email: str
    name: str
    customer_id: uuid.UUID
    kind: Literal["customer_user"] = "customer_user"


Principal = EmployeePrincipal | CustomerUserPrincipal


# Policies: each returns the refusal reason, or None when the action is allowed.


def why_not_admin(principal: Principal) -> str | None:
    if not isinstance(principal, EmployeePrincipal):
        return "Only employees may do this."
    if not principal.is_admin:
        return "Only administrators may do this."
    return None


def why_not_insight_admin(principal: Principal) -> str | None:
    reason = why_not_admin(principal)
    if reason is None and INSIGHT_MANAGE not in principal.permissions:  # type: ignore[union-attr]
        reason = f"Configuring the customer portal needs the permission '{INSIGHT_MANAGE}'."
    return reason


def why_not_template_manager(principal: Principal) -> str | None:
    if not isinstance(principal, EmployeePrincipal):
        return "Only employees may do this."
    if CHECK_TEMPLATES_MANAGE not in principal.permissions:
        return f"Managing form templates needs the permission '{CHECK_TEMPLATES_MANAGE}'."
    return None


def ensure(reason: str | None) -> None:
    if reason is not None:
        raise Forbidden(reason)
