"""The tenant table and its business-hours calendar."""

import uuid
from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from blink_api.kit.db import Base, IdMixin, TimestampMixin


class Tenant(IdMixin, TimestampMixin, Base):
    __tablename__ = "tenants"
    __table_args__ = (CheckConstraint("code ~ '^[A-Z0-9]{2,10}$'", name="code_format"),)

    name: Mapped[str] = mapped_column(String(200))
    # Prefix of the tenant's human-readable ticket numbers, e.g. NORD-000123.
    code: Mapped[str] = mapped_column(String(10), unique=True)
    last_ticket_number: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class BusinessHours(TimestampMixin, Base):
    """A tenant's business-hours calendar; a tenant without a row has the default calendar.

    `updated_at` tells when the calendar last changed, so work derived from it (due times) can be
    recomputed for changes after a given moment.
    """

    __tablename__ = "business_hours"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    timezone: Mapped[str] = mapped_column(String(64))
    # {"mon": [["08:00", "17:00"]], ..., "sun": []}: every weekday present, intervals sorted.
    weekly: Mapped[dict[str, list[list[str]]]] = mapped_column(JSONB)
    holidays_region: Mapped[str | None] = mapped_column(String(10))
    closed_dates: Mapped[list[date]] = mapped_column(ARRAY(Date), default=list, server_default=text("'{}'"))
