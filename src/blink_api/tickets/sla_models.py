"""Service-level policies of a tenant, and the queue of recomputations their changes cause."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from blink_api.kit.db import Base, IdMixin, TimestampMixin

MINUTES_MAX = 525_600
"""The longest target a policy may set: a year of business minutes."""


class SlaPolicy(IdMixin, TimestampMixin, Base):
    """Targets for first response and resolution, in business minutes of the tenant's calendar, for
    the tickets of a tenant that match every criterion set (customer, ticket type, priority)."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint(
            "first_response_minutes IS NOT NULL OR resolution_minutes IS NOT NULL", name="some_target"
        ),
        CheckConstraint(
            f"first_response_minutes BETWEEN 1 AND {MINUTES_MAX}", name="first_response_minutes_range"
        ),
        CheckConstraint(f"resolution_minutes BETWEEN 1 AND {MINUTES_MAX}", name="resolution_minutes_range"),
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority"),
        # Matching reads a tenant's policies, oldest first (the tie-breaker).
        Index("ix_sla_policies_tenant_id_created_at", "tenant_id", "created_at", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    ticket_type_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="RESTRICT"), index=True
    )
    priority: Mapped[str | None] = mapped_column(String(10))
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)


class SlaRecomputation(IdMixin, Base):
    """A tenant whose open tickets' due times must be worked out again (a policy or the business hours
    changed); the worker recomputes the tenant's open tickets a batch at a time and deletes the rows it
    started from once the last batch is done."""

    __tablename__ = "sla_recomputations"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # What changed, for the history: `policy_created`, `policy_updated`, `policy_deleted`, `business_hours`.
    reason: Mapped[str] = mapped_column(String(40))
    policy_id: Mapped[uuid.UUID | None] = mapped_column()
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
