"""Authentication dependencies: every route declares one of these (or `Public`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, params
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.identity import principals as policy
from blink_api.identity import repository as repo
from blink_api.identity.principals import Credentials, CustomerUserPrincipal, EmployeePrincipal, Principal
from blink_api.identity.repository import PrincipalRow
from blink_api.identity.scopes import RouteScope
from blink_api.kit.db import DbSession
from blink_api.kit.errors import Unauthorized
from blink_api.kit.tokens import Tokens, hash_api_token, is_api_token, well_formed_api_token

TOKEN_URL = "/api/v1/auth/token"

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
# The same header, documented a second time: Swagger UI's Authorize then takes a pasted API token
# besides the password form. The token is read from `_bearer`.
API_TOKEN_SCHEME = "APIToken"
_api_token_scheme = HTTPBearer(
    scheme_name=API_TOKEN_SCHEME,
    bearerFormat="blk_…",
    description="An API token (`POST /api/v1/api-tokens`), sent as `Authorization: Bearer blk_…`.",
    auto_error=False,
)


async def get_credentials(
    request: Request,
    session: DbSession,
    token: Annotated[str | None, Depends(_bearer)],
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(_api_token_scheme)],
) -> Credentials:
    """Who is calling, from an access token (`POST /auth/token`) or an API token (told apart by its
    prefix). Both are checked against the database on every request, nothing remembered: an access
    token after a password change or deactivation, an API token revoked, expired or of a deactivated
    owner, ends on the next request in every process."""
    if not token:
        raise Unauthorized("Send a bearer token from POST /api/v1/auth/token, or an API token.")
    if is_api_token(token):
        return await _api_token_credentials(session, token)
    tokens: Tokens = request.app.state.context.tokens
    claims = tokens.read(token)
    if claims is None:
        raise Unauthorized("The access token is invalid or has expired.")
    row = await repo.load_principal_row(session, claims.account_id)
    if row is None or not row.is_active or row.token_version != claims.token_version:
        raise Unauthorized("The access token is no longer valid; log in again.")
    return Credentials(principal_from_row(row))


async def _api_token_credentials(session: AsyncSession, token: str) -> Credentials:
    # A token of the wrong shape cannot exist: refused without a lookup.
    found = (
        await repo.find_api_token(session, hash_api_token(token)) if well_formed_api_token(token) else None
    )
    if found is None or not found.owner.is_active:
        raise Unauthorized("The API token is invalid, revoked or expired.")
    if found.stale:
        await repo.touch_api_token(session, found.token_id)
    return Credentials(principal_from_row(found.owner), frozenset(found.scopes))


def principal_from_row(row: PrincipalRow) -> Principal:
    """The principal an account row (`identity.repository.load_principal_row`) stands for."""
    if row.kind == "employee":
        return EmployeePrincipal(
            id=row.id,
            email=row.email,
            name=row.name,
            is_admin=row.is_admin,
            tenant_ids=frozenset(row.tenant_ids),
            permissions=frozenset(row.permissions),
        )
    assert row.customer_id is not None
    return CustomerUserPrincipal(id=row.id, email=row.email, name=row.name, customer_id=row.customer_id)


CurrentCredentials = Annotated[Credentials, Depends(get_credentials)]


async def get_principal(credentials: CurrentCredentials) -> Principal:
    return credentials.principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


class TokenScope:
    """A route's rule for API tokens (`identity.scopes.RouteScope`), as the dependency that applies it.

    Every authenticated route has exactly one, given where the application includes its router;
    a password log-in passes untouched, an API token lacking the scope gets 403 naming it, before the
    route looks anything up (so the answer is the same for every id).
    """

    def __init__(self, scope: RouteScope) -> None:
        self.scope = scope

    async def __call__(self, request: Request, credentials: CurrentCredentials) -> None:
        if credentials.scopes is not None:
            kind = "customer_user" if isinstance(credentials.principal, CustomerUserPrincipal) else "employee"
            policy.ensure(self.scope.why_not(request.method, credentials.scopes, kind))

    def __repr__(self) -> str:
        return f"TokenScope({self.scope})"


def token_scope(scope: RouteScope) -> params.Depends:
    return Depends(TokenScope(scope))


def token_scopes_of(dependant: Dependant) -> list[RouteScope]:
    """The API token rules a route's dependencies apply (exactly one on every authenticated route)."""
    found = [dependant.call.scope] if isinstance(dependant.call, TokenScope) else []
    for sub in dependant.dependencies:
        found.extend(token_scopes_of(sub))
    return found


async def get_employee(principal: CurrentPrincipal) -> EmployeePrincipal:
    policy.ensure(policy.why_not_employee(principal))
    assert isinstance(principal, EmployeePrincipal)
    return principal


CurrentEmployee = Annotated[EmployeePrincipal, Depends(get_employee)]


async def get_admin(principal: CurrentPrincipal) -> EmployeePrincipal:
    policy.ensure(policy.why_not_admin(principal))
    assert isinstance(principal, EmployeePrincipal)
    return principal


AdminEmployee = Annotated[EmployeePrincipal, Depends(get_admin)]


async def get_insight_admin(principal: CurrentPrincipal) -> EmployeePrincipal:
    policy.ensure(policy.why_not_insight_admin(principal))
    assert isinstance(principal, EmployeePrincipal)
    return principal


InsightAdmin = Annotated[EmployeePrincipal, Depends(get_insight_admin)]


async def get_template_manager(principal: CurrentPrincipal) -> EmployeePrincipal:
    policy.ensure(policy.why_not_template_manager(principal))
    assert isinstance(principal, EmployeePrincipal)
    return principal


TemplateManager = Annotated[EmployeePrincipal, Depends(get_template_manager)]


async def public() -> None:
    """Marks a route that anyone may call; the route-table test lists them by name."""


Public = Depends(public)
