"""HTTP endpoints of log-in, identity and API tokens."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from blink_api.identity import api_tokens, service
from blink_api.identity.dependencies import CurrentPrincipal, Public
from blink_api.identity.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenRead,
    LoginForm,
    Me,
    NotificationSettings,
    NotificationSettingsUpdate,
    PasswordSet,
    Token,
)
from blink_api.kit.context import Ctx
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination
from blink_api.kit.ratelimit import client_address, per_client, retry_after_responses

router = APIRouter(tags=["auth"])

TokenId = Annotated[uuid.UUID, Path(description="The API token's id.")]

# A token is a secret: no cache (a browser's, a proxy's) may keep the answer carrying it (RFC 6749 §5.1).
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_NO_STORE_HEADERS = {
    "Cache-Control": {"description": "`no-store`: no cache keeps the token.", "schema": {"type": "string"}},
    "Pragma": {"description": "`no-cache`, for HTTP/1.0 caches.", "schema": {"type": "string"}},
}


@router.post(
    "/auth/token",
    name="auth:token",
    dependencies=[Public, per_client("auth:token", lambda settings: settings.login_attempts_per_minute)],
    responses={
        200: {"headers": _NO_STORE_HEADERS},
        **problem_responses(401, 422),
        **retry_after_responses(429, 503),
    },
    summary="Log in with e-mail and password (OAuth2 password flow)",
)
async def issue_token(
    ctx: Ctx,
    session: DbSession,
    request: Request,
    response: Response,
    form: Annotated[LoginForm, Depends()],
) -> Token:
    """Employees and customer users alike.

    Repeated failures answer 429 with `Retry-After` for a while: for this e-mail address from the
    caller's address, for the caller's address after failures on many e-mail addresses, and briefly
    for an e-mail address that fails from many addresses (not where it logged in before). Log-ins
    from one address are limited per minute, right or wrong. 503 with `Retry-After` when too many
    passwords are being checked at once.
    """
    token = await service.login(ctx, session, form.username, form.password, client_address(request))
    response.headers.update(_NO_STORE)
    return token


@router.post(
    "/auth/password",
    name="auth:set_password",
    dependencies=[Public],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(422),
    summary="Set a password with the token of an invitation or reset link",
)
async def set_password(ctx: Ctx, session: DbSession, body: PasswordSet) -> None:
    """Anyone holding the link, without logging in: employees and customer users created without a
    password are mailed one. The token works once and expires after a while; 422 at `token` when it
    is invalid, used or expired, and at `password` when the password is too short or easy to guess
    (the link then still works). Access tokens issued before stop working."""
    await service.set_password_with_link(ctx, session, body.token, body.password)


me_router = APIRouter(tags=["me"])


@me_router.get("/me", name="me:read", responses=problem_responses(401), summary="Who am I")
async def read_me(principal: CurrentPrincipal) -> Me:
    """Any authenticated caller, with a password log-in or any API token: the account, its kind, and
    for employees the tenants and permissions that decide what it sees and may do."""
    return service.me(principal)


@me_router.get(
    "/me/notification-settings",
    name="me:read_notification_settings",
    responses=problem_responses(401),
    summary="Which ticket mails reach me",
)
async def read_notification_settings(session: DbSession, principal: CurrentPrincipal) -> NotificationSettings:
    """Any authenticated caller, its own settings: comment and status mails about tickets it follows
    (both on unless switched off) and the language of its mails."""
    return await service.notification_settings(session, principal)


@me_router.put(
    "/me/notification-settings",
    name="me:update_notification_settings",
    responses=problem_responses(401, 422),
    summary="Choose which ticket mails reach me",
)
async def update_notification_settings(
    session: DbSession, principal: CurrentPrincipal, body: NotificationSettingsUpdate
) -> NotificationSettings:
    """Any authenticated caller, its own settings only. `comment: false` stops mails about new comments,
    `status: false` those about status changes (closing and re-opening included); `locale` picks the
    mails' language."""
    return await service.set_notification_settings(session, principal, body)


api_tokens_router = APIRouter(prefix="/api-tokens", tags=["api-tokens"])


@api_tokens_router.post(
    "",
    name="api-tokens:create",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses(
            "The new token (`GET /api-tokens/{token_id}`), without its secret.", **_NO_STORE_HEADERS
        ),
        **problem_responses(401, 403, 409, 422),
    },
    summary="Create an API token for yourself",
)
async def create_api_token(
    session: DbSession,
    principal: CurrentPrincipal,
    body: ApiTokenCreate,
    request: Request,
    response: Response,
) -> ApiTokenCreated:
    """The token acts as you and never beyond: it sees what you see and may do what you may do, narrowed
    to its `scopes` (a request outside them answers 403 naming the missing scope). Use it as
    `Authorization: Bearer <token>`. `token` is shown in this answer only; only its hash is kept.
    Revoking it, its expiry or your deactivation ends it on the very next request. Tokens are managed
    with a password log-in only (403 for an API token). At most 50 per account (409 beyond)."""
    created = await api_tokens.create_api_token(session, principal, body)
    response.headers.update(_NO_STORE)
    response.headers["Location"] = location(request, "api-tokens:read", token_id=created.id)
    return created


@api_tokens_router.get("", name="api-tokens:list", responses=problem_responses(401, 403, 422))
async def list_api_tokens(
    session: DbSession,
    principal: CurrentPrincipal,
    page: Pagination,
    account_id: Annotated[
        uuid.UUID | None, Query(description="Administrators: the account whose tokens to list.")
    ] = None,
) -> Page[ApiTokenRead]:
    """Your own tokens, newest first, never their secret; administrators list anyone's with
    `account_id` (for anyone else, another account's list is empty)."""
    return await api_tokens.list_api_tokens(session, principal, page, account_id)


@api_tokens_router.get("/{token_id}", name="api-tokens:read", responses=problem_responses(401, 403, 404, 422))
async def read_api_token(session: DbSession, principal: CurrentPrincipal, token_id: TokenId) -> ApiTokenRead:
    """Your own tokens; administrators anyone's (another's answers 404 to everyone else). Never the secret."""
    return await api_tokens.get_api_token(session, principal, token_id)


@api_tokens_router.delete(
    "/{token_id}",
    name="api-tokens:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
    summary="Revoke an API token",
)
async def revoke_api_token(session: DbSession, principal: CurrentPrincipal, token_id: TokenId) -> None:
    """Your own tokens; administrators anyone's (another's answers 404 to everyone else). The token
    stops working on the very next request. With a password log-in only (403 for an API token)."""
    await api_tokens.revoke_api_token(session, principal, token_id)
