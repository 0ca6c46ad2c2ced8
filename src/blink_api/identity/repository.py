"""SQL for accounts, API tokens, log-in throttling, set-password links and shared secrets."""

from __future__ import annotations

import functools
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Interval,
    Select,
    String,
    Uuid,
    bindparam,
    delete,
    false,
    func,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.identity.models import (
    Account,
    ApiToken,
    CustomerUser,
    Employee,
    PasswordToken,
    PermissionGroup,
    employee_permission_groups,
    employee_tenants,
)
from blink_api.identity.principals import EmployeePrincipal, Principal
from blink_api.kit.compiled import DriverStatement, driver_connection


@dataclass(frozen=True, slots=True)
class PrincipalRow:
    id: uuid.UUID
    kind: str
    email: str
    name: str
    is_active: bool
    token_version: int
    is_admin: bool
    customer_id: uuid.UUID | None
    tenant_ids: list[uuid.UUID]
    permissions: list[str]


def _principal_select() -> Select[Any]:
    """The account with what its principal needs: an employee's tenants and permissions (empty arrays
    for a customer user), a customer user's customer. Narrowed by the caller to one account."""
    # Tables, not mapped classes: nothing here needs the mappers configured.
    accounts, employees, customer_users = Account.__table__, Employee.__table__, CustomerUser.__table__
    groups, members = PermissionGroup.__table__, employee_permission_groups
    tenant_ids = select(employee_tenants.c.tenant_id).where(employee_tenants.c.employee_id == accounts.c.id)
    permission = func.unnest(groups.c.permissions).column_valued("p")
    permissions = (
        select(permission)
        .distinct()
        .select_from(members.join(groups, groups.c.id == members.c.permission_group_id))
        .where(members.c.employee_id == accounts.c.id)
    )
    return (
        select(
            accounts.c.id,
            accounts.c.kind,
            accounts.c.email,
            accounts.c.name,
            accounts.c.is_active,
            accounts.c.token_version,
            func.coalesce(employees.c.is_admin, false()).label("is_admin"),
            customer_users.c.customer_id,
            func.array(tenant_ids.scalar_subquery()).label("tenant_ids"),
            func.array(permissions.scalar_subquery()).label("permissions"),
        )
        .select_from(accounts)
        .outerjoin(employees, employees.c.id == accounts.c.id)
        .outerjoin(customer_users, customer_users.c.id == accounts.c.id)
    )


@functools.cache
def _principal_statement() -> DriverStatement:
    """The principal of the account `:account_id`. Every request with an access token runs it, so on
    the driver directly (see `blink_api.kit.compiled`)."""
    accounts = Account.__table__
    return DriverStatement(_principal_select().where(accounts.c.id == bindparam("account_id", type_=Uuid())))


async def load_principal_row(session: AsyncSession, account_id: uuid.UUID) -> PrincipalRow | None:
    statement = _principal_statement()
    row = await statement.fetchrow(await driver_connection(session), {"account_id": account_id})
    return PrincipalRow(**row) if row else None


# -- API tokens ------------------------------------------------------------------------------------

# `last_used_at` is kept to this granularity: written at most once a minute per token, not per request.
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ApiTokenUse:
    """An unexpired API token, found by its hash, and its owner's principal."""

    owner: PrincipalRow
    token_id: uuid.UUID
    scopes: list[str]
    # `last_used_at` lies further back than the granularity it is kept to (or was never set).
    stale: bool


@functools.cache
def _api_token_statement() -> DriverStatement:
    """The owner's principal and the token, in one round trip, for the unexpired token whose hash is
    `:token_hash` (a unique index: the lookup costs the same whichever tokens exist). Expiry is judged
    by the database's clock, like `last_used_at` is written."""
    tokens, accounts = ApiToken.__table__, Account.__table__
    touch_after = bindparam("touch_after", type_=Interval())
    return DriverStatement(
        _principal_select()
        .add_columns(
            tokens.c.id.label("token_id"),
            tokens.c.scopes.label("token_scopes"),
            or_(tokens.c.last_used_at.is_(None), tokens.c.last_used_at < func.now() - touch_after).label(
                "token_stale"
            ),
        )
        .join(tokens, tokens.c.account_id == accounts.c.id)
        .where(
            tokens.c.token_hash == bindparam("token_hash", type_=String()),
            or_(tokens.c.expires_at.is_(None), tokens.c.expires_at > func.now()),
        )
    )


async def find_api_token(session: AsyncSession, token_hash: str) -> ApiTokenUse | None:
    statement = _api_token_statement()
    row = await statement.fetchrow(
        await driver_connection(session), {"token_hash": token_hash, "touch_after": LAST_USED_GRANULARITY}
    )
    if row is None:
        return None
    values = dict(row)
    token_id, scopes, stale = values.pop("token_id"), values.pop("token_scopes"), values.pop("token_stale")
    return ApiTokenUse(owner=PrincipalRow(**values), token_id=token_id, scopes=scopes, stale=stale)


async def touch_api_token(session: AsyncSession, token_id: uuid.UUID) -> None:
    """Set `last_used_at` in the request's transaction, unless another request holds the row: then that
    one is setting it, and this one neither waits for it nor writes again."""
    stale = or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < func.now() - LAST_USED_GRANULARITY)
    locked = (
        select(ApiToken.id)
        .where(ApiToken.id == token_id, stale)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    await session.execute(
        update(ApiToken).where(ApiToken.id == locked).values(last_used_at=func.now()),
        execution_options={"synchronize_session": False},
    )


def api_token_scope(principal: Principal) -> ColumnElement[bool]:
    """The API tokens a caller may see and revoke: its own; administrators' anyone's."""
    if isinstance(principal, EmployeePrincipal) and principal.is_admin:
        return true()
    return ApiToken.account_id == principal.id


def visible_api_tokens(principal: Principal, account_id: uuid.UUID) -> Select[tuple[ApiToken]]:
    """The tokens of the account `account_id` the caller sees (none of another's, unless an admin)."""
    return select(ApiToken).where(api_token_scope(principal), ApiToken.account_id == account_id)


def api_token_by_id(principal: Principal, token_id: uuid.UUID) -> Select[tuple[ApiToken]]:
    return select(ApiToken).where(ApiToken.id == token_id, api_token_scope(principal))


async def count_api_tokens(session: AsyncSession, account_id: uuid.UUID) -> int:
    return await session.scalar(select(func.count()).where(ApiToken.account_id == account_id)) or 0


async def add_api_token(session: AsyncSession, token: ApiToken) -> ApiToken:
    session.add(token)
    await session.flush()
    return token


async def delete_api_token(session: AsyncSession, principal: Principal, token_id: uuid.UUID) -> bool:
    """Delete the token if the caller may see it; whether there was one to delete."""
    deleted = await session.scalar(
        delete(ApiToken)
        .where(ApiToken.id == token_id, api_token_scope(principal))
        .returning(ApiToken.id)
        .execution_options(synchronize_session=False)
    )
    return deleted is not None


async def delete_api_tokens_of(session: AsyncSession, account_id: uuid.UUID) -> None:
    await session.execute(delete(ApiToken).where(ApiToken.account_id == account_id))


async def get_account_by_email(session: AsyncSession, email: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.email == email))


async def email_taken(session: AsyncSession, email: str, *, except_id: uuid.UUID | None = None) -> bool:
    stmt = select(Account.id).where(Account.email == email)
    if except_id is not None:
        stmt = stmt.where(Account.id != except_id)
    return (await session.scalar(stmt)) is not None


@dataclass(frozen=True, slots=True)
class LoginStanding:
    """What the throttle knows about one e-mail address tried from one client address."""

    # Seconds until each lock runs out; 0 when not locked.
    pair_wait: float
    email_wait: float
    address_wait: float
    # The e-mail's account logged in successfully from this address within the trusted period.
    trusted: bool
    # ... so recently, and without failures since, that there is nothing to record on success.
    recently_succeeded: bool


_STANDING_SQL = text(
    """
    SELECT
      coalesce(max(extract(epoch FROM locked_until - now()))
               FILTER (WHERE email = :email AND address = :address), 0) AS pair_wait,
      coalesce(max(extract(epoch FROM locked_until - now())) FILTER (WHERE address = ''), 0) AS email_wait,
      coalesce(max(extract(epoch FROM locked_until - now())) FILTER (WHERE email = ''), 0) AS address_wait,
      coalesce(bool_or(succeeded_at > now() - make_interval(days => :trusted_days))
               FILTER (WHERE email = :email AND address = :address), false) AS trusted,
      coalesce(bool_or(succeeded_at > now() - interval '1 day' AND failures = 0)
               FILTER (WHERE email = :email AND address = :address), false) AS recently_succeeded
    FROM login_throttle
    WHERE (email, address) IN ((:email, :address), (:email, ''), ('', :address))
    """
)


async def login_standing(
    session: AsyncSession, email: str, address: str, *, trusted_days: int
) -> LoginStanding:
    row = (
        await session.execute(
            _STANDING_SQL, {"email": email, "address": address, "trusted_days": trusted_days}
        )
    ).one()
    return LoginStanding(
        pair_wait=max(0.0, float(row.pair_wait)),
        email_wait=max(0.0, float(row.email_wait)),
        address_wait=max(0.0, float(row.address_wait)),
        trusted=row.trusted,
        recently_succeeded=row.recently_succeeded,
    )


async def count_failed_login(
    session: AsyncSession, keys: list[tuple[str, str]], *, window_seconds: int
) -> dict[tuple[str, str], int]:
    """Count one failure on each (e-mail, address) row; returns the rows' counts within the window.

    Each row is incremented under its row lock, so parallel failures are all counted; a count starts
    afresh once its last failure, and any lock after it, lie a window back.
    """
    rows = await session.execute(
        text(
            """
            INSERT INTO login_throttle AS t (email, address, failures, last_failed_at)
            SELECT email, address, 1, now()
            FROM unnest(CAST(:emails AS text[]), CAST(:addresses AS text[])) AS k(email, address)
            ON CONFLICT (email, address) DO UPDATE SET
              failures = CASE
                WHEN greatest(t.last_failed_at, t.locked_until) >= now() - make_interval(secs => :window)
                THEN t.failures + 1 ELSE 1 END,
              last_failed_at = now()
            RETURNING email, address, failures
            """
        ),
        {"emails": [k[0] for k in keys], "addresses": [k[1] for k in keys], "window": window_seconds},
    )
    return {(row.email, row.address): row.failures for row in rows}


async def lock_login(session: AsyncSession, email: str, address: str, seconds: float) -> None:
    await session.execute(
        text(
            "UPDATE login_throttle SET locked_until = now() + make_interval(secs => :seconds)"
            " WHERE email = :email AND address = :address"
        ),
        {"email": email, "address": address, "seconds": seconds},
    )


async def record_successful_login(session: AsyncSession, email: str, address: str) -> None:
    """Forget the pair's failures and trust the address for this e-mail from now on."""
    await session.execute(
        text(
            """
            INSERT INTO login_throttle AS t (email, address, failures, succeeded_at)
            VALUES (:email, :address, 0, now())
            ON CONFLICT (email, address) DO UPDATE
              SET failures = 0, last_failed_at = NULL, locked_until = NULL, succeeded_at = now()
            """
        ),
        {"email": email, "address": address},
    )


async def clear_failed_logins(session: AsyncSession, email: str) -> None:
    """Forget every failure counted for this e-mail address (whoever proved to own it)."""
    await session.execute(
        text(
            "UPDATE login_throttle SET failures = 0, last_failed_at = NULL, locked_until = NULL"
            " WHERE email = :email"
        ),
        {"email": email},
    )


async def prune_login_throttle(session: AsyncSession, *, window_seconds: int, trusted_days: int) -> None:
    """Delete rows that neither count a recent failure, hold a lock nor trust an address."""
    await session.execute(
        text(
            """
            DELETE FROM login_throttle
            WHERE coalesce(greatest(last_failed_at, locked_until), '-infinity')
                    < now() - make_interval(secs => :window)
              AND (succeeded_at IS NULL OR succeeded_at < now() - make_interval(days => :trusted_days))
            """
        ),
        {"window": window_seconds, "trusted_days": trusted_days},
    )


async def update_password_hash(session: AsyncSession, account_id: uuid.UUID, password_hash: str) -> None:
    await session.execute(update(Account).where(Account.id == account_id).values(password_hash=password_hash))


async def add_password_token(
    session: AsyncSession, account_id: uuid.UUID, token_hash: str, purpose: str, expires_at: datetime
) -> None:
    # A new link supersedes the older ones of the same account.
    await session.execute(
        delete(PasswordToken).where(PasswordToken.account_id == account_id, PasswordToken.used_at.is_(None))
    )
    session.add(
        PasswordToken(account_id=account_id, token_hash=token_hash, purpose=purpose, expires_at=expires_at)
    )
    await session.flush()


async def take_password_token(session: AsyncSession, token_hash: str) -> uuid.UUID | None:
    """Mark an unused, unexpired link as used and return its account; None if there is none."""
    return await session.scalar(
        update(PasswordToken)
        .where(
            PasswordToken.token_hash == token_hash,
            PasswordToken.used_at.is_(None),
            PasswordToken.expires_at > text("now()"),
        )
        .values(used_at=text("now()"))
        .returning(PasswordToken.account_id)
    )


async def signing_key(session: AsyncSession) -> str:
    """The token signing key shared by all processes, created on first use."""
    await session.execute(
        text("INSERT INTO app_secrets (name, value) VALUES ('token_signing_key', :v) ON CONFLICT DO NOTHING"),
        {"v": secrets.token_urlsafe(48)},
    )
    value = await session.scalar(text("SELECT value FROM app_secrets WHERE name = 'token_signing_key'"))
    assert value is not None
    return value
