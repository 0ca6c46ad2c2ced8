"""Customers, their sites, and their customer-portal settings: which sites each customer user is
assigned, which ticket types the customer sees, which attachments are offered as documents."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from blink_api.kit.db import Base, IdMixin, TimestampMixin


class Customer(IdMixin, TimestampMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (CheckConstraint("evaluation_group_days >= 1", name="group_days_positive"),)

    name: Mapped[str] = mapped_column(String(200))
    # "Ticket Auswertung": closed tickets bucketed by resolution time in groups of this many days.
    ticket_evaluation_enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    evaluation_group_days: Mapped[int] = mapped_column(Integer, default=7, server_default=text("7"))


class DocumentSource(Base):
    """ "Dokumente pro Objekt": attachments of tickets of this type are offered as downloads on the site."""

    __tablename__ = "customer_document_sources"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    # Null: every attachment; else only these content types.
    content_types: Mapped[list[str] | None] = mapped_column(ARRAY(String(100)))


class ConfigChange(IdMixin, Base):
    """Who changed which customer-portal setting, when, from what to what."""

    __tablename__ = "config_changes"
    __table_args__ = (Index("ix_config_changes_customer_id_created_at", "customer_id", "created_at", "id"),)

    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(20))
    before: Mapped[object | None] = mapped_column(JSONB)
    after: Mapped[object | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __mapper_args__ = {"eager_defaults": True}


class Site(IdMixin, TimestampMixin, Base):
    __tablename__ = "sites"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)


customer_user_sites = Table(
    "customer_user_sites",
    Base.metadata,
    Column("customer_user_id", Uuid, ForeignKey("customer_users.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", Uuid, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True),
)

customer_ticket_types = Table(
    "customer_ticket_types",
    Base.metadata,
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "ticket_type_id",
        Uuid,
        ForeignKey("ticket_types.id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    ),
)

# "Einblick in die für sie erbrachten Leistungen": completed submissions of these form templates on the
# customer's sites are its users' inspection reports (`GET /sites/{site_id}/reports`).
customer_report_templates = Table(
    "customer_report_templates",
    Base.metadata,
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "template_id",
        Uuid,
        ForeignKey("form_templates.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)
