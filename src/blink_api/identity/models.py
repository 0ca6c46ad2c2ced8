"""Accounts of both kinds of caller, and what authenticates them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from blink_api.kit.db import Base, IdMixin, TimestampMixin

employee_tenants = Table(
    "employee_tenants",
    Base.metadata,
    Column("employee_id", Uuid, ForeignKey("employees.id", ondelete="CASCADE"), primary_key=True),
    Column("tenant_id", Uuid, ForeignKey("tenants.id", ondelete="RESTRICT"), primary_key=True, index=True),
)

employee_permission_groups = Table(
    "employee_permission_groups",
    Base.metadata,
    Column("employee_id", Uuid, ForeignKey("employees.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "permission_group_id",
        Uuid,
        ForeignKey("permission_groups.id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    ),
)


class Account(IdMixin, TimestampMixin, Base):
    """What logs in: one row per employee or customer user, so an e-mail address names one account."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("kind IN ('employee', 'customer_user')", name="kind"),
        CheckConstraint("email = lower(email)", name="email_lower"),
    )

    kind: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Bumped whenever issued tokens must stop working (password change, deactivation).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locale: Mapped[str] = mapped_column(String(5), default="de", server_default="de")
    # Notification settings (`/me/notification-settings`): which ticket mails the account wants.
    notify_comments: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    notify_status: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))

    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_abstract": True, "eager_defaults": True}


class Employee(Account):
    __tablename__ = "employees"

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Opt-in to mails about customer tickets that have no assignee yet.
    notify_unassigned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    # Tenants and sites are named, not imported: the identity package sits below both.
    tenants: Mapped[list[Any]] = relationship("Tenant", secondary=employee_tenants, lazy="raise")
    permission_groups: Mapped[list[PermissionGroup]] = relationship(
        secondary=employee_permission_groups, lazy="raise"
    )

    __mapper_args__ = {
        "polymorphic_identity": "employee",
        "polymorphic_load": "inline",
        "eager_defaults": True,
    }

    @property
    def tenant_ids(self) -> list[uuid.UUID]:
        return sorted(t.id for t in self.tenants)

    @property
    def permission_group_ids(self) -> list[uuid.UUID]:
        return sorted(g.id for g in self.permission_groups)


class CustomerUser(Account):
    __tablename__ = "customer_users"

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )

    # The table lives with the customers domain, which assigns sites to its users.
    sites: Mapped[list[Any]] = relationship("Site", secondary="customer_user_sites", lazy="raise")

    @property
    def site_ids(self) -> list[uuid.UUID]:
        return sorted(s.id for s in self.sites)

    __mapper_args__ = {
        "polymorphic_identity": "customer_user",
        "polymorphic_load": "inline",
        "eager_defaults": True,
    }


class PermissionGroup(IdMixin, TimestampMixin, Base):
    __tablename__ = "permission_groups"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    permissions: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), default=list, server_default=text("'{}'")
    )


class LoginThrottle(Base):
    """Failed log-ins, shared by every API process (see blink_api.identity.throttling).

    Three kinds of row, told apart by which key is empty: a pair (e-mail and client address), an
    e-mail address alone (`address` empty) and a client address alone (`email` empty). E-mail
    addresses are counted whether or not an account has them.
    """

    __tablename__ = "login_throttle"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Pairs only: the last successful log-in from this address, which makes the address trusted.
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PasswordToken(IdMixin, Base):
    """A single-use set-password link (invitation or reset); only its hash is stored."""

    __tablename__ = "password_tokens"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiToken(IdMixin, Base):
    """A token a third-party system calls the API with, acting as its owner (see `identity.scopes`).

    Only the hash of the secret is stored; `prefix` is what the owner recognises it by.
    """

    __tablename__ = "api_tokens"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Kept to the minute, not written on every request (see `identity.repository.touch_api_token`).
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __mapper_args__ = {"eager_defaults": True}


class AppSecret(Base):
    """Secrets generated once and shared by every process (the token signing key when none is configured)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
