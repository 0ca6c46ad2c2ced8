"""Ticket ratings: the reporter's satisfaction with a closed ticket, one per ticket

The ticket's id is the primary key, so the database itself keeps a second rating out, also one sent
at the same moment as the first.

Revision ID: 4c8d1e6a9b23
Revises: 3d8f6a1c9e42
Create Date: 2026-11-30 04:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4c8d1e6a9b23"
down_revision: str | None = "3d8f6a1c9e42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_ratings",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_ticket_ratings_score_range")),
        sa.CheckConstraint("char_length(comment) <= 2000", name=op.f("ck_ticket_ratings_comment_length")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_ratings_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_ratings")),
    )


def downgrade() -> None:
    op.drop_table("ticket_ratings")
