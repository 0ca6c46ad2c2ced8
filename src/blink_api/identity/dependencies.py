"""Authentication dependencies: every route declares one of these (or `Public`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from blink_api.identity import principals as policy
from blink_api.identity.principals import CustomerUserPrincipal, EmployeePrincipal, Principal
from blink_api.identity.repository import load_principal_row
from blink_api.kit.db import DbSession
from blink_api.kit.errors import Unauthorized
from blink_api.kit.tokens import Tokens

TOKEN_URL = "/api/v1/auth/token"

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


async def get_principal(
    request: Request, session: DbSession, token: Annotated[str | None, Depends(_bearer)]
) -> Principal:
    if not token:
        raise Unauthorized("Send a bearer token from POST /api/v1/auth/token.")
    tokens: Tokens = request.app.state.context.tokens
    claims = tokens.read(token)
    if claims is None:
        raise Unauthorized("The access token is invalid or has expired.")
    row = await load_principal_row(session, claims.account_id)
    if row is None or not row.is_active or row.token_version != claims.token_version:
        raise Unauthorized("The access token is no longer valid; log in again.")
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


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


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
