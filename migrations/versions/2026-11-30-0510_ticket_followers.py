"""Followers of tickets and notification settings

Anyone who sees a ticket may follow it; its creator and assignee follow without asking and may
stop, which is kept as an opt-out row. Accounts choose whether comment and status mails reach them.

Revision ID: 3c8d2e6f9a41
Revises: 3c8d5a1e9f47
Create Date: 2026-11-30 05:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c8d2e6f9a41"
down_revision: str | None = "3c8d5a1e9f47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "accounts", sa.Column("notify_comments", sa.Boolean(), server_default=sa.text("true"), nullable=False)
    )
    op.add_column(
        "accounts", sa.Column("notify_status", sa.Boolean(), server_default=sa.text("true"), nullable=False)
    )
    op.create_table(
        "ticket_followers",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("following", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_followers_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_ticket_followers_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", "account_id", name=op.f("pk_ticket_followers")),
    )
    op.create_index(op.f("ix_ticket_followers_account_id"), "ticket_followers", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_followers_account_id"), table_name="ticket_followers")
    op.drop_table("ticket_followers")
    op.drop_column("accounts", "notify_status")
    op.drop_column("accounts", "notify_comments")
