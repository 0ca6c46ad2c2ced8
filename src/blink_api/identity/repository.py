"""SQL for accounts, log-in throttling, set-password links and shared secrets."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.driver import driver_connection
from blink_api.identity.models import Account, PasswordToken


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


# Run on every authenticated request, so on the driver directly (see blink_api.driver).
_PRINCIPAL_SQL = """
    SELECT a.id, a.kind, a.email, a.name, a.is_active, a.token_version,
           coalesce(e.is_admin, false) AS is_admin, cu.customer_id,
           array(SELECT et.tenant_id FROM employee_tenants et WHERE et.employee_id = a.id) AS tenant_ids,
           array(SELECT DISTINCT p FROM employee_permission_groups epg
                   JOIN permission_groups pg ON pg.id = epg.permission_group_id,
                   unnest(pg.permissions) AS p
                 WHERE epg.employee_id = a.id) AS permissions
    FROM accounts a
    LEFT JOIN employees e ON e.id = a.id
    LEFT JOIN customer_users cu ON cu.id = a.id
    WHERE a.id = $1
"""


async def load_principal_row(session: AsyncSession, account_id: uuid.UUID) -> PrincipalRow | None:
    row = await (await driver_connection(session)).fetchrow(_PRINCIPAL_SQL, account_id)
    return PrincipalRow(**row) if row else None


async def get_account_by_email(session: AsyncSession, email: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.email == email))


async def email_taken(session: AsyncSession, email: str, *, except_id: uuid.UUID | None = None) -> bool:
    stmt = select(Account.id).where(Account.email == email)
    if except_id is not None:
        stmt = stmt.where(Account.id != except_id)
    return (await session.scalar(stmt)) is not None


async def locked_until(session: AsyncSession, email: str) -> datetime | None:
    return await session.scalar(
        text("SELECT locked_until FROM login_throttle WHERE email = :email AND locked_until > now()"),
        {"email": email},
    )


async def record_failed_login(
    session: AsyncSession, email: str, *, max_failures: int, lockout_seconds: int
) -> None:
    """Count a failure; from the `max_failures`-th on, lock the address for a doubling time (at most 1 h).

    Failures older than 15 minutes are forgotten, so a typo now and then never locks anyone out.
    """
    await session.execute(
        text(
            """
            INSERT INTO login_throttle AS t (email, failures, last_failed_at, locked_until)
            VALUES (:email, 1, now(), CASE WHEN :max <= 1 THEN now() + make_interval(secs => :lock) END)
            ON CONFLICT (email) DO UPDATE SET
              failures = CASE WHEN t.last_failed_at < now() - interval '15 minutes' THEN 1
                              ELSE t.failures + 1 END,
              last_failed_at = now(),
              locked_until = CASE
                WHEN t.last_failed_at < now() - interval '15 minutes' THEN NULL
                WHEN t.failures + 1 >= :max THEN now() + make_interval(
                  secs => least(3600, :lock * power(2, least(t.failures + 1 - :max, 12))))
                ELSE NULL END
            """
        ),
        {"email": email, "max": max_failures, "lock": lockout_seconds},
    )


async def clear_failed_logins(session: AsyncSession, email: str) -> None:
    await session.execute(text("DELETE FROM login_throttle WHERE email = :email"), {"email": email})


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
