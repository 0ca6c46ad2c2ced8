"""The ticket type table."""

import enum
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from blink_api.kit.db import Base, IdMixin, TimestampMixin


class TicketCategory(enum.StrEnum):
    """What tickets of a type are about. `standard`: work on a site, such as cleaning, repairs or
    complaints; `absence`: an employee's leave or sick note (Urlaub, Krankmeldung), never offered in
    the customer portal."""

    standard = "standard"
    absence = "absence"


class TicketType(IdMixin, TimestampMixin, Base):
    __tablename__ = "ticket_types"
    __table_args__ = (
        CheckConstraint("category IN ('standard', 'absence')", name="category"),
        UniqueConstraint("tenant_id", "name"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
