"""A completed form submission keeps its PDF

The filled form is rendered once and its stored object served from then on, instead of rendering it
again for every download.

Revision ID: 3f6a2c91d4b8
Revises: c41e7a2d9f03
Create Date: 2026-11-29 22:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f6a2c91d4b8"
down_revision: str | None = "c41e7a2d9f03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("form_submissions", sa.Column("pdf_storage_key", sa.String(length=200), nullable=True))
    op.add_column("form_submissions", sa.Column("pdf_size", sa.BigInteger(), nullable=True))
    op.add_column("form_submissions", sa.Column("pdf_sha256", sa.String(length=64), nullable=True))
    op.create_unique_constraint(
        op.f("uq_form_submissions_pdf_storage_key"), "form_submissions", ["pdf_storage_key"]
    )
    op.create_check_constraint(
        op.f("ck_form_submissions_pdf_only_when_completed"),
        "form_submissions",
        "pdf_storage_key IS NULL OR status = 'completed'",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_form_submissions_pdf_only_when_completed"), "form_submissions", type_="check")
    op.drop_constraint(op.f("uq_form_submissions_pdf_storage_key"), "form_submissions", type_="unique")
    op.drop_column("form_submissions", "pdf_sha256")
    op.drop_column("form_submissions", "pdf_size")
    op.drop_column("form_submissions", "pdf_storage_key")
