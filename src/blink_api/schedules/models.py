"""Schedules, the sites they plan work on, and the occurrences that have raised their ticket."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from blink_api.kit.db import Base, IdMixin, TimestampMixin

MAX_LEAD_DAYS = 366


class Schedule(IdMixin, TimestampMixin, Base):
    __tablename__ = "schedules"
    __table_args__ = (
        CheckConstraint(f"lead_days BETWEEN 0 AND {MAX_LEAD_DAYS}", name="lead_days_range"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint(
            "priority IS NULL OR priority IN ('low', 'normal', 'high', 'urgent')", name="priority"
        ),
        Index("ix_schedules_tenant_id_created_at", "tenant_id", "created_at", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    # Null: the ticket gets the tickets' default priority.
    priority: Mapped[str | None] = mapped_column(String(10))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("employees.id", ondelete="SET NULL"), index=True
    )
    form_template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("form_templates.id", ondelete="RESTRICT"), index=True
    )
    rrule: Mapped[str] = mapped_column(String(500))
    timezone: Mapped[str] = mapped_column(String(64))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    lead_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    # Tickets of the schedule are created in the name of who created it.
    created_by_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    # The earliest date the worker raises tickets for: the schedule's local date when it was created
    # or last switched on. Catching up after downtime goes back to it, never further, so a schedule
    # with an old `starts_on` does not raise years of past tickets.
    catch_up_from: Mapped[dt.date] = mapped_column(Date)


schedule_sites = Table(
    "schedule_sites",
    Base.metadata,
    Column("schedule_id", Uuid, ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", Uuid, ForeignKey("sites.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


# One row per occurrence whose ticket was raised: its primary key makes the raising happen once, however
# many workers try at the same time (the second insert waits for the first and then does nothing).
schedule_occurrences = Table(
    "schedule_occurrences",
    Base.metadata,
    Column("schedule_id", Uuid, ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", Uuid, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("occurs_on", Date, primary_key=True),
    Column("ticket_id", Uuid, ForeignKey("tickets.id", ondelete="SET NULL"), index=True),
)
