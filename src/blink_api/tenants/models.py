"""The tenant table."""

from sqlalchemy import CheckConstraint, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from blink_api.kit.db import Base, IdMixin, TimestampMixin


class Tenant(IdMixin, TimestampMixin, Base):
    __tablename__ = "tenants"
    __table_args__ = (CheckConstraint("code ~ '^[A-Z0-9]{2,10}$'", name="code_format"),)

    name: Mapped[str] = mapped_column(String(200))
    # Prefix of the tenant's human-readable ticket numbers, e.g. NORD-000123.
    code: Mapped[str] = mapped_column(String(10), unique=True)
    last_ticket_number: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
