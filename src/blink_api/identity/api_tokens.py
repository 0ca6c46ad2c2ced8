"""API tokens: made by their owners for themselves, listed without their secret, revoked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.identity import repository as repo
from blink_api.identity.models import ApiToken
from blink_api.identity.principals import Principal
from blink_api.identity.schemas import ApiTokenCreate, ApiTokenCreated, ApiTokenRead
from blink_api.identity.scopes import SCOPES, why_not_hold
from blink_api.kit.errors import Conflict, Invalid, NotFound
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.rows import one_or_404
from blink_api.kit.tokens import API_TOKEN_SHOWN, new_api_token

# Tokens one account may hold at once: enough for every system it connects, not a store for floods.
MAX_API_TOKENS_PER_ACCOUNT = 50


async def create_api_token(
    session: AsyncSession, principal: Principal, body: ApiTokenCreate
) -> ApiTokenCreated:
    """A token for the caller itself, its secret in this answer only."""
    asked = set(body.scopes)
    scopes = [scope for scope in SCOPES if scope in asked]
    reason = why_not_hold(principal.kind, frozenset(scopes))
    if reason is not None:
        raise Invalid.at(["body", "scopes"], reason, "scope_not_allowed")
    if body.expires_at is not None and body.expires_at <= datetime.now(UTC):
        raise Invalid.at(["body", "expires_at"], "The expiry must lie in the future.")
    if await repo.count_api_tokens(session, principal.id) >= MAX_API_TOKENS_PER_ACCOUNT:
        raise Conflict(
            f"An account holds at most {MAX_API_TOKENS_PER_ACCOUNT} API tokens; revoke one it no longer uses."
        )
    secret, secret_hash = new_api_token()
    token = await repo.add_api_token(
        session,
        ApiToken(
            account_id=principal.id,
            name=body.name,
            prefix=secret[:API_TOKEN_SHOWN],
            token_hash=secret_hash,
            scopes=scopes,
            expires_at=body.expires_at,
        ),
    )
    return ApiTokenCreated(**ApiTokenRead.model_validate(token).model_dump(), token=secret)


async def list_api_tokens(
    session: AsyncSession, principal: Principal, page: PageParams, account_id: uuid.UUID | None
) -> Page[ApiTokenRead]:
    """The caller's tokens; an administrator's of the account `account_id` (another's are nobody
    else's business: empty, like any filter naming what the caller does not see)."""
    stmt = repo.visible_api_tokens(principal, account_id or principal.id)
    rows, cursor = await paginate(session, stmt, page, created_at=ApiToken.created_at, id_=ApiToken.id)
    return Page[ApiTokenRead](items=[ApiTokenRead.model_validate(r) for r in rows], next_cursor=cursor)


async def get_api_token(session: AsyncSession, principal: Principal, token_id: uuid.UUID) -> ApiTokenRead:
    return ApiTokenRead.model_validate(
        await one_or_404(session, repo.api_token_by_id(principal, token_id), "API token")
    )


async def revoke_api_token(session: AsyncSession, principal: Principal, token_id: uuid.UUID) -> None:
    """Ends the token on the very next request, in every process (each reads it from the database)."""
    if not await repo.delete_api_token(session, principal, token_id):
        raise NotFound("API token not found.")
