"""The customer table."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from blink_api.db import Base, IdMixin, TimestampMixin


class Customer(IdMixin, TimestampMixin, Base):
    __tablename__ = "customers"

    name: Mapped[str] = mapped_column(String(200))
