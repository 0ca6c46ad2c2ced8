"""Tickets, their comments and their history."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from blink_api.identity.models import Account
from blink_api.kit.db import Base, IdMixin, TimestampMixin
from blink_api.tickets.sla_models import SlaPolicy  # noqa: F401 - `sla_policy_id` refers to its table

# A due date as the instant its day starts (UTC), none as the last instant a cursor holds: the key of
# the list's `due_date` order (`tickets.sorting.DUE_KEY` is the same expression, for queries).
DUE_KEY = text(
    "coalesce(timezone('UTC', CAST(due_date AS TIMESTAMP WITHOUT TIME ZONE)), "
    "'9999-12-30 23:59:59+00'::timestamptz)"
)

# The earliest due time of the ticket's service-level targets that is neither met nor paused: what
# `sla_due_before` filters by ("what breaches next").
SLA_DUE_AT = (
    "LEAST(CASE WHEN sla_first_response_met_at IS NULL THEN sla_first_response_due_at END, "
    "CASE WHEN sla_resolution_met_at IS NULL AND sla_resolution_paused_at IS NULL "
    "THEN sla_resolution_due_at END)"
)
# The same without the targets whose breach is recorded already: what the breach scan looks for.
SLA_BREACH_DUE_AT = (
    "LEAST(CASE WHEN sla_first_response_met_at IS NULL AND sla_first_response_breached_at IS NULL "
    "THEN sla_first_response_due_at END, "
    "CASE WHEN sla_resolution_met_at IS NULL AND sla_resolution_paused_at IS NULL "
    "AND sla_resolution_breached_at IS NULL THEN sla_resolution_due_at END)"
)
# The creation time moved by 2,000 years per step of priority (`low` not at all, `urgent` by 6,000):
# the key of the list's `priority` order, one instant per ticket as every order's cursor holds.
# Creation times lie before the year 4000, so priorities never overlap, and the largest key stays
# below the year 9999 that cursors hold.
PRIORITY_KEY = (
    "timezone('UTC', timezone('UTC', created_at) + CASE priority WHEN 'low' THEN interval '0 years' "
    "WHEN 'normal' THEN interval '2000 years' WHEN 'high' THEN interval '4000 years' "
    "ELSE interval '6000 years' END)"
)


# Which ticket types a customer's users may create and see (the portal's "Tickets" tab).
class Ticket(IdMixin, TimestampMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'in_progress', 'waiting', 'closed')", name="status"),
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_at_iff_closed"),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_tickets_tenant_id_created_at", "tenant_id", "created_at", "id"),
        # The portal lists by site; the type is in the index so enabled types filter without the table.
        Index(
            "ix_tickets_site_id_created_at",
            "site_id",
            "created_at",
            "id",
            postgresql_include=["ticket_type_id"],
        ),
        Index("ix_tickets_created_at_id", "created_at", "id"),
        # The list sorted by `updated_at` (either way): for employees, administrators and the portal.
        Index("ix_tickets_tenant_id_updated_at", "tenant_id", "updated_at", "id"),
        Index("ix_tickets_updated_at_id", "updated_at", "id"),
        Index(
            "ix_tickets_site_id_updated_at",
            "site_id",
            "updated_at",
            "id",
            postgresql_include=["ticket_type_id"],
        ),
        # The list sorted by due date (either way; see `tickets.sorting.DUE_KEY`).
        Index("ix_tickets_tenant_id_due_key", "tenant_id", DUE_KEY, "id"),
        Index("ix_tickets_due_key_id", DUE_KEY, "id"),
        Index("ix_tickets_site_id_due_key", "site_id", DUE_KEY, "id", postgresql_include=["ticket_type_id"]),
        # The list sorted by priority (either way).
        Index("ix_tickets_tenant_id_priority_key", "tenant_id", "priority_key", "id"),
        Index("ix_tickets_priority_key_id", "priority_key", "id"),
        Index(
            "ix_tickets_site_id_priority_key",
            "site_id",
            "priority_key",
            "id",
            postgresql_include=["ticket_type_id"],
        ),
        Index("ix_tickets_search_public", "search_public", postgresql_using="gin"),
        Index("ix_tickets_search_internal", "search_internal", postgresql_using="gin"),
        # The evaluation reads closed tickets per site without touching the table.
        Index(
            "ix_tickets_closed_per_site",
            "site_id",
            "closed_at",
            postgresql_include=["created_at", "ticket_type_id"],
            postgresql_where=text("status = 'closed'"),
        ),
        # "What breaches next": the open tickets with a running target, by its due time, per tenant,
        # per site and overall (`sla_due_before`), and the breach scan over unrecorded ones.
        Index(
            "ix_tickets_tenant_id_sla_due_at",
            "tenant_id",
            "sla_due_at",
            "id",
            postgresql_where=text("sla_due_at IS NOT NULL"),
        ),
        Index(
            "ix_tickets_site_id_sla_due_at",
            "site_id",
            "sla_due_at",
            "id",
            postgresql_include=["ticket_type_id"],
            postgresql_where=text("sla_due_at IS NOT NULL"),
        ),
        Index("ix_tickets_sla_due_at", "sla_due_at", "id", postgresql_where=text("sla_due_at IS NOT NULL")),
        Index(
            "ix_tickets_sla_breach_due_at",
            "sla_breach_due_at",
            postgresql_where=text("sla_breach_due_at IS NOT NULL"),
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"))
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="RESTRICT"), index=True
    )
    # Human-readable per tenant, e.g. NORD-000123; kept as issued even if the tenant's code changes.
    number: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    priority: Mapped[str] = mapped_column(String(10), default="normal", server_default="normal")
    priority_key: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), Computed(PRIORITY_KEY, persisted=True), deferred=True
    )
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("employees.id", ondelete="RESTRICT"), index=True
    )
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    created_by_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The schedule that raised the ticket for one of its dates, if one did.
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("schedules.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    # Service levels (`tickets.sla`): the policy that applies, and per target its due time, when it was
    # met and when its breach was recorded (once). The resolution clock runs from `anchor` (creation or
    # the last re-opening) for the policy's minutes plus `credit` (paused business time, less what was
    # used before a re-opening); `paused_at` while the ticket waits on the customer.
    sla_policy_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL"), index=True
    )
    sla_first_response_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sla_first_response_met_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sla_first_response_breached_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sla_resolution_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sla_resolution_met_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sla_resolution_breached_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sla_resolution_paused_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sla_resolution_anchor_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sla_resolution_credit_seconds: Mapped[int | None] = mapped_column(BigInteger)
    sla_due_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), Computed(SLA_DUE_AT, persisted=True)
    )
    sla_breach_due_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), Computed(SLA_BREACH_DUE_AT, persisted=True)
    )
    # Full text in German: title, description and public comments; internal notes apart, for employees only.
    search_public: Mapped[str | None] = mapped_column(TSVECTOR, deferred=True)
    search_internal: Mapped[str | None] = mapped_column(TSVECTOR, deferred=True)

    created_by: Mapped[Account] = relationship(lazy="raise", foreign_keys=[created_by_id])
    # Loaded with the ticket wherever a ticket is read (`repository.visible_tickets`).
    rating: Mapped[TicketRating | None] = relationship(lazy="raise", uselist=False, viewonly=True)

    __mapper_args__ = {"version_id_col": version, "eager_defaults": True}


class TicketComment(IdMixin, TimestampMixin, Base):
    __tablename__ = "ticket_comments"
    __table_args__ = (Index("ix_ticket_comments_ticket_id_created_at", "ticket_id", "created_at", "id"),)

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    author: Mapped[Account] = relationship(lazy="raise")


class TicketEvent(IdMixin, Base):
    """One line of a ticket's history: who changed what, when, from what to what."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_id_created_at", "ticket_id", "created_at", "id"),)

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    event: Mapped[str] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(40))
    old_value: Mapped[object | None] = mapped_column(JSONB)
    new_value: Mapped[object | None] = mapped_column(JSONB)
    # False for events about internal notes. Which events customer users see decides `customer_view`
    # (rows written before it also hold false for assignee and due-date changes, which it now shows).
    public: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))

    actor: Mapped[Account | None] = relationship(lazy="raise")

    __mapper_args__ = {"eager_defaults": True}


class TicketRating(Base):
    """The satisfaction rating the customer user who reported a closed ticket gave it: one per ticket,
    held by the primary key, so that two rating requests at once store one."""

    __tablename__ = "ticket_ratings"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        CheckConstraint("char_length(comment) <= 2000", name="comment_length"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))

    __mapper_args__ = {"eager_defaults": True}


class TicketFollower(Base):
    """Who follows a ticket beyond its creator and assignee, and who of those two stopped following.

    `following` true: an explicit follower; false: the creator or assignee unfollowed (an opt-out,
    kept while the role lasts). Anyone else who does not follow has no row.
    """

    __tablename__ = "ticket_followers"

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    following: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
