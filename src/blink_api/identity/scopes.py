"""What an API token may be used for: the scopes, who may hold which, and what each route needs.

A token acts as its owner and never beyond: the owner's principal, with every scope and policy of a
log-in, and the token's scopes narrow it further. Which scope a route needs is declared once per
router, where the application includes it (`blink_api.app`); a password log-in is not narrowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

Scope = Literal[
    "tickets:read",
    "tickets:write",
    "forms:read",
    "forms:write",
    "master-data:read",
    "master-data:write",
    "portal:read",
    "portal:write",
    "webhooks:manage",
]
SCOPES: Final[tuple[Scope, ...]] = get_args(Scope)

SCOPE_DESCRIPTIONS: Final[dict[Scope, str]] = {
    "tickets:read": (
        "Tickets, comments, attachments, history; sites, site documents, evaluations and inspection "
        "reports (for customer users, the reports' PDFs too)."
    ),
    "tickets:write": "Create and change tickets, comments and attachments (covers `tickets:read`).",
    "forms:read": "Form templates and form submissions.",
    "forms:write": (
        "Create and change form templates and submissions; uploads for them (covers `forms:read`)."
    ),
    "master-data:read": "Tenants, ticket types, employees, permission groups, schedules.",
    "master-data:write": (
        "Change tenants, sites, ticket types, employees, permission groups, schedules "
        "(covers `master-data:read`)."
    ),
    "portal:read": "Customer portal configuration: customers, customer users, their settings.",
    "portal:write": "Change the customer portal configuration (covers `portal:read`).",
    "webhooks:manage": "Webhooks and the outbox of outgoing deliveries.",
}

# SPEC: customer users may hold only these; their portal is tickets.
CUSTOMER_USER_SCOPES: Final[frozenset[Scope]] = frozenset({"tickets:read", "tickets:write"})

_READS = frozenset({"GET", "HEAD"})


def satisfying(scope: str) -> frozenset[str]:
    """The scopes that cover `scope`: itself, and for a family's `:read` its `:write` as well (a token
    that may change tickets may read them, as an integration that writes must read what it wrote)."""
    family, _, action = scope.partition(":")
    if action == "read" and f"{family}:write" in SCOPES:
        return frozenset({scope, f"{family}:write"})
    return frozenset({scope})


@dataclass(frozen=True, slots=True)
class RouteScope:
    """The scope a route needs from an API token: `read` for GET, `write` for every other method.

    `read` None: any token may call it (the caller's own identity). `tokens` False: no token may,
    only a password log-in (managing API tokens). `customer_read`: what a customer user's token needs
    to read instead of `read` (its portal is tickets, the only family it can hold).
    """

    read: Scope | None
    write: Scope | None
    tokens: bool = True
    customer_read: Scope | None = None

    def needed(self, method: str, kind: str = "employee") -> Scope | None:
        if method not in _READS:
            return self.write
        if kind == "customer_user" and self.customer_read is not None:
            return self.customer_read
        return self.read

    def why_not(self, method: str, held: frozenset[str], kind: str = "employee") -> str | None:
        """Why a token of an account of this kind holding the scopes `held` may not call the route with
        `method`; None if it may."""
        if not self.tokens:
            return "API tokens cannot do this; log in with a password."
        needed = self.needed(method, kind)
        if needed is not None and not satisfying(needed) & held:
            return f"The API token lacks the scope '{needed}'."
        return None


def both(family: str) -> RouteScope:
    """`<family>:read` for reads, `<family>:write` for writes."""
    read, write = f"{family}:read", f"{family}:write"
    assert read in SCOPES and write in SCOPES, family
    return RouteScope(read, write)  # type: ignore[arg-type]


TICKETS: Final = both("tickets")
FORMS: Final = both("forms")
MASTER_DATA: Final = both("master-data")
PORTAL: Final = both("portal")
WEBHOOKS: Final = RouteScope("webhooks:manage", "webhooks:manage")
# Sites are master data to change, but reading them is where ticket work starts: the portal lists a
# customer user's sites and what may be raised on each, so a customer's `tickets:read` token (the only
# read it can hold) sees the sites its user sees.
SITES: Final = RouteScope("tickets:read", "master-data:write")
# A form submission's PDF: form work for employees; for customer users it is an inspection report of
# their portal (`GET /sites/{site_id}/reports`), read with the `tickets:read` their tokens can hold.
FORM_PDFS: Final = RouteScope("forms:read", "forms:write", customer_read="tickets:read")
# The caller's own identity (`/me`): any token may read it.
SELF: Final = RouteScope(None, None)
# Tokens are managed with a password log-in only, so a token can never mint a wider or longer-lived one.
PASSWORD_ONLY: Final = RouteScope(None, None, tokens=False)


def why_not_hold(kind: str, scopes: frozenset[str]) -> str | None:
    """Why an account of this kind may not hold these scopes; None when it may."""
    if kind == "customer_user" and (beyond := scopes - CUSTOMER_USER_SCOPES):
        allowed = " and ".join(f"'{s}'" for s in sorted(CUSTOMER_USER_SCOPES))
        return f"Customer users may hold only {allowed}, not {', '.join(repr(s) for s in sorted(beyond))}."
    return None
