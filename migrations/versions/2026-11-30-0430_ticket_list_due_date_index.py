"""Indexes for the ticket list sorted by due date

`sort=due_date` orders on the due date as the instant its day starts (UTC), tickets without one last
(`tickets.sorting.DUE_KEY`: the expression here is that one, character for character in meaning, so
that PostgreSQL finds the order in these indexes), per tenant, overall and per site (with the type,
for the portal), as the `created_at` and `updated_at` indexes give theirs.

Revision ID: 3d8f6a1c9e42
Revises: 7e4a1f2c8b60
Create Date: 2026-11-30 04:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3d8f6a1c9e42"
down_revision: str | None = "7e4a1f2c8b60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE_KEY = sa.text(
    "coalesce(timezone('UTC', CAST(due_date AS TIMESTAMP WITHOUT TIME ZONE)), '9999-12-30 23:59:59+00'::timestamptz)"
)


def upgrade() -> None:
    op.create_index(
        "ix_tickets_tenant_id_due_key", "tickets", [sa.column("tenant_id"), DUE_KEY, sa.column("id")]
    )
    op.create_index("ix_tickets_due_key_id", "tickets", [DUE_KEY, sa.column("id")])
    op.create_index(
        "ix_tickets_site_id_due_key",
        "tickets",
        [sa.column("site_id"), DUE_KEY, sa.column("id")],
        postgresql_include=["ticket_type_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_site_id_due_key", table_name="tickets")
    op.drop_index("ix_tickets_due_key_id", table_name="tickets")
    op.drop_index("ix_tickets_tenant_id_due_key", table_name="tickets")
