"""Log-in, throttling and set-password links."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.identity import password_policy, throttling
from blink_api.identity import repository as repo
from blink_api.identity.models import Account
from blink_api.identity.principals import CustomerUserPrincipal, Principal
from blink_api.identity.schemas import Me, NotificationSettings, NotificationSettingsUpdate, Token
from blink_api.kit.context import AppContext
from blink_api.kit.errors import Invalid, NotFound, Unauthorized
from blink_api.kit.tokens import hash_link_token, new_link_token

LOGIN_REFUSED = "Incorrect e-mail or password."


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def login(ctx: AppContext, session: AsyncSession, username: str, password: str, client: str) -> Token:
    """Check the password of `username` tried from the client address `client` (see throttling).

    Throttle state and account are read on a session of their own, closed before the password is
    checked: no pooled connection waits on Argon2. `session` is only used once the password is right.
    """
    email = normalize_email(username)
    # Counted under at most the longest e-mail address an account can have.
    key = email[:320]
    async with ctx.database.sessionmaker() as own:
        standing = await repo.login_standing(own, key, client, trusted_days=ctx.settings.login_trusted_days)
        throttling.ensure_may_try(standing)
        account = await repo.get_account_by_email(own, email) if email else None
    # Unknown addresses are verified against a dummy hash: same cost, same answer.
    password_ok = await ctx.passwords.verify(account.password_hash if account else None, password)
    if account is None or not password_ok or not account.is_active:
        # Counted in a transaction of its own: the refused request's transaction rolls back.
        async with ctx.database.sessionmaker.begin() as own:
            await throttling.record_failure(own, ctx.settings, key, client)
        raise Unauthorized(LOGIN_REFUSED)
    if not standing.recently_succeeded:
        await repo.record_successful_login(session, email, client)
    if account.password_hash and ctx.passwords.needs_rehash(account.password_hash):
        await repo.update_password_hash(session, account.id, await ctx.passwords.hash(password))
    return Token(
        access_token=ctx.tokens.issue(account.id, account.token_version),
        expires_in=int(ctx.tokens.ttl.total_seconds()),
    )


def me(principal: Principal) -> Me:
    if isinstance(principal, CustomerUserPrincipal):
        return Me(
            id=principal.id,
            kind="customer_user",
            email=principal.email,
            name=principal.name,
            is_admin=False,
            permissions=[],
            tenant_ids=[],
            customer_id=principal.customer_id,
        )
    return Me(
        id=principal.id,
        kind="employee",
        email=principal.email,
        name=principal.name,
        is_admin=principal.is_admin,
        permissions=sorted(principal.permissions),
        tenant_ids=sorted(principal.tenant_ids),
        customer_id=None,
    )


def _settings_of(account: Account) -> NotificationSettings:
    return NotificationSettings(
        comment=account.notify_comments,
        status=account.notify_status,
        locale="en" if account.locale == "en" else "de",
    )


async def _own_account(session: AsyncSession, principal: Principal) -> Account:
    account = await session.get(Account, principal.id)
    if account is None:  # deleted while the request ran
        raise NotFound("Account not found.")
    return account


async def notification_settings(session: AsyncSession, principal: Principal) -> NotificationSettings:
    return _settings_of(await _own_account(session, principal))


async def set_notification_settings(
    session: AsyncSession, principal: Principal, body: NotificationSettingsUpdate
) -> NotificationSettings:
    """The caller's own settings only; the locale is the one that employees' and customer users'
    administration set too, so both see the same."""
    account = await _own_account(session, principal)
    account.notify_comments = body.comment
    account.notify_status = body.status
    account.locale = body.locale
    await session.flush()
    return _settings_of(account)


async def hash_new_password(ctx: AppContext, password: str, *, email: str, name: str) -> str:
    """The hash of a password chosen for the account `email`, `name`; 422 at `body.password` when it
    is easy to guess. Every password set through the API passes here."""
    # The estimate is pure Python and takes milliseconds: off the event loop, like hashing.
    reason = await anyio.to_thread.run_sync(password_policy.why_not_password, password, (email, name))
    if reason is not None:
        raise Invalid.at(["body", "password"], reason, "password_too_weak")
    return await ctx.passwords.hash(password)


async def set_password_hash(ctx: AppContext, account: Account, password: str) -> None:
    """Set a new password; tokens issued before stop working."""
    account.password_hash = await hash_new_password(ctx, password, email=account.email, name=account.name)
    account.token_version += 1


async def create_password_link(
    ctx: AppContext, session: AsyncSession, account_id: uuid.UUID, purpose: str
) -> str:
    """A single-use set-password token for the account (the caller mails the link)."""
    token, token_hash = new_link_token()
    expires_at = datetime.now(UTC) + timedelta(hours=ctx.settings.password_token_ttl_hours)
    await repo.add_password_token(session, account_id, token_hash, purpose, expires_at)
    return token


async def set_password_with_link(ctx: AppContext, session: AsyncSession, token: str, password: str) -> None:
    account_id = await repo.take_password_token(session, hash_link_token(token))
    account = await session.get(Account, account_id) if account_id else None
    if account is None:
        raise Invalid.at(["body", "token"], "The link is invalid, used or expired; ask for a new one.")
    # A refused password rolls the request back, taking of the link included: the link still works.
    await set_password_hash(ctx, account, password)
    await repo.clear_failed_logins(session, account.email)
    await session.flush()
