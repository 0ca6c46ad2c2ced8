"""Who is making a request: one type per kind of caller, and the small policies on them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, get_args

from blink_api.kit.errors import Forbidden

# Every permission a permission group can hold; the API refuses any other.
Permission = Literal["insight:manage", "check:templates:manage", "schedules:manage"]
PERMISSIONS: Final[tuple[Permission, ...]] = get_args(Permission)

INSIGHT_MANAGE: Final[Permission] = "insight:manage"  # configure the customer portal (with is_admin)
CHECK_TEMPLATES_MANAGE: Final[Permission] = "check:templates:manage"  # create and change form templates
# plan recurring work on the sites of one's tenants (administrators may without it)
SCHEDULES_MANAGE: Final[Permission] = "schedules:manage"

# Permissions that take effect only together with `is_admin` (seed: the portal is configured "only by
# system administrators who have this permission enabled").
ADMIN_ONLY_PERMISSIONS = frozenset({INSIGHT_MANAGE})


def permissions_in_force(is_admin: bool, permissions: Iterable[str]) -> frozenset[str]:
    """What an employee's permissions let it do: the admin-only ones count only for administrators."""
    held = frozenset(permissions)
    return held if is_admin else held - ADMIN_ONLY_PERMISSIONS


@dataclass(frozen=True, slots=True)
class Holding:
    """What an employee account holds, as it is or as a change would leave it."""

    is_admin: bool
    permissions: frozenset[str]  # of its permission groups, in force or not

    @property
    def in_force(self) -> frozenset[str]:
        return permissions_in_force(self.is_admin, self.permissions)


@dataclass(frozen=True, slots=True)
class EmployeePrincipal:
    id: uuid.UUID
    email: str
    name: str
    is_admin: bool
    tenant_ids: frozenset[uuid.UUID]
    permissions: frozenset[str]
    kind: Literal["employee"] = "employee"

    @property
    def permissions_in_force(self) -> frozenset[str]:
        return permissions_in_force(self.is_admin, self.permissions)


@dataclass(frozen=True, slots=True)
class CustomerUserPrincipal:
    id: uuid.UUID
    email: str
    name: str
    customer_id: uuid.UUID
    kind: Literal["customer_user"] = "customer_user"


Principal = EmployeePrincipal | CustomerUserPrincipal


@dataclass(frozen=True, slots=True)
class Credentials:
    """Who is calling, and how: with a password log-in (`scopes` None, nothing narrowed) or with an API
    token acting as its owner (`principal`), narrowed to its `scopes`."""

    principal: Principal
    scopes: frozenset[str] | None = None


# Policies: each returns the refusal reason, or None when the action is allowed.


def why_not_employee(principal: Principal) -> str | None:
    if not isinstance(principal, EmployeePrincipal):
        return "Only employees may do this."
    return None


def why_not_admin(principal: Principal) -> str | None:
    if not isinstance(principal, EmployeePrincipal):
        return why_not_employee(principal)
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
        return why_not_employee(principal)
    if CHECK_TEMPLATES_MANAGE not in principal.permissions:
        return f"Managing form templates needs the permission '{CHECK_TEMPLATES_MANAGE}'."
    return None


# Nobody hands out or takes away what it does not hold: a permission is granted and revoked only by
# those who hold it in force (SPEC "Limits and abuse"). Without this, an administrator lacking
# `insight:manage` could give it to itself through a group, or strip it from everyone who has it.


def _named(permissions: frozenset[str]) -> tuple[str, str]:
    """`the permission 'x'` or `the permissions 'x' and 'y'`, and the pronoun that goes with it."""
    quoted = [f"'{p}'" for p in sorted(permissions)]
    if len(quoted) == 1:
        return f"the permission {quoted[0]}", "it"
    return f"the permissions {', '.join(quoted[:-1])} and {quoted[-1]}", "them"


def why_not_grant(principal: EmployeePrincipal, before: Iterable[str], after: Iterable[str]) -> str | None:
    """A change of a group's (or an account's) permissions from `before` to `after`."""
    own, old, new = principal.permissions_in_force, frozenset(before), frozenset(after)
    if lacking := new - old - own:
        named, them = _named(lacking)
        return f"You cannot grant {named}: you do not hold {them} yourself."
    if lacking := old - new - own:
        named, them = _named(lacking)
        return f"You cannot take away {named}: you do not hold {them} yourself."
    return None


def why_not_change_holding(principal: EmployeePrincipal, before: Holding, after: Holding) -> str | None:
    """A change of an account's groups or `is_admin`: both what it holds and what is in force count,
    so neither a dormant grant nor switching one on or off through `is_admin` slips through."""
    reason = why_not_grant(principal, before.permissions, after.permissions)
    if reason is not None:
        return reason
    own = principal.permissions_in_force
    if lacking := after.in_force - before.in_force - own:
        named, them = _named(lacking)
        return (
            f"Making this employee an administrator puts {named} in force, "
            f"and you do not hold {them} yourself."
        )
    if lacking := before.in_force - after.in_force - own:
        named, them = _named(lacking)
        return (
            f"Taking administrator rights from this employee takes away {named}, "
            f"and you do not hold {them} yourself."
        )
    return None


def why_not_manage_account(principal: EmployeePrincipal, target: Holding, action: str) -> str | None:
    """Setting the password or e-mail address of an account is taking it over; deactivating or deleting
    it takes its permissions away. Neither is for someone lacking a permission the account holds.

    `action` completes "You cannot ... an employee", e.g. "change the password of".
    """
    if lacking := target.permissions - principal.permissions_in_force:
        named, them = _named(lacking)
        return f"You cannot {action} an employee holding {named}: you do not hold {them} yourself."
    return None


def ensure(reason: str | None) -> None:
    if reason is not None:
        raise Forbidden(reason)
