"""Form templates with their versions, and submissions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from blink_api.kit.db import Base, IdMixin, TimestampMixin


class FormTemplate(IdMixin, TimestampMixin, Base):
    __tablename__ = "form_templates"
    __table_args__ = (
        CheckConstraint("subject IN ('site', 'none')", name="subject"),
        # Submissions name their template with its subject, so the database ties their site to it.
        UniqueConstraint("id", "subject"),
    )

    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    latest_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    published_version: Mapped[int | None] = mapped_column(Integer)
    # Set while the published version is public: the link anyone may fill the form with.
    public_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # What the form is filled in about: a site (inspections) or nothing (training records, personnel
    # questionnaires). Not versioned: it changes only while the template has no submissions.
    subject: Mapped[str] = mapped_column(String(10), default="site", server_default="site")


class FormTemplateVersion(IdMixin, TimestampMixin, Base):
    """One version of a template; immutable once published (editing then makes the next version)."""

    __tablename__ = "form_template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("form_templates.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    elements: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


form_submission_tickets = Table(
    "form_submission_tickets",
    Base.metadata,
    Column("submission_id", Uuid, ForeignKey("form_submissions.id", ondelete="CASCADE"), primary_key=True),
    Column("element_key", String(63), primary_key=True),
    Column("ticket_id", Uuid, ForeignKey("tickets.id", ondelete="RESTRICT"), nullable=False, unique=True),
)


class FormSubmission(IdMixin, TimestampMixin, Base):
    __tablename__ = "form_submissions"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'completed')", name="status"),
        CheckConstraint(
            "(status = 'completed') = (completed_at IS NOT NULL)", name="completed_at_iff_completed"
        ),
        Index("ix_form_submissions_site_id_created_at", "site_id", "created_at"),
        CheckConstraint("pdf_storage_key IS NULL OR status = 'completed'", name="pdf_only_when_completed"),
        ForeignKeyConstraint(
            ["template_id", "subject"], ["form_templates.id", "form_templates.subject"], ondelete="RESTRICT"
        ),
        # A `none` template's submission has no site; a `site` template's has one, except through a
        # public link (no author).
        CheckConstraint(
            "(subject = 'none' AND site_id IS NULL)"
            " OR (subject = 'site' AND (site_id IS NOT NULL OR created_by_id IS NULL))",
            name="site_matches_subject",
        ),
    )

    template_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # The template's subject, copied so that the check above can see it (kept equal by the key above).
    subject: Mapped[str] = mapped_column(String(10), default="site", server_default="site")
    template_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("form_template_versions.id", ondelete="RESTRICT")
    )
    # Null for submissions through a public link and for those of `none` templates.
    site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default="draft", server_default="draft")
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The filled form as PDF, rendered once when it is completed (or, for public-link submissions and
    # older ones, at its first download) and served from storage ever after: it never changes.
    pdf_storage_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    pdf_size: Mapped[int | None] = mapped_column(BigInteger)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    # The ticket the inspection was started from (a scheduled one): completing it closes that ticket.
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
