"""The portal's site index also carries the ticket type

The customer-user list filters by assigned site and enabled type; with the type in the index the
page is found without reading the tickets it skips.

Revision ID: 5b1d0c3a9e77
Revises: 8b73c8e7949a
Create Date: 2026-11-23 12:40:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b1d0c3a9e77"
down_revision: str | None = "8b73c8e7949a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_tickets_site_id_created_at", table_name="tickets")
    op.create_index(
        "ix_tickets_site_id_created_at",
        "tickets",
        ["site_id", "created_at", "id"],
        postgresql_include=["ticket_type_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_site_id_created_at", table_name="tickets")
    op.create_index("ix_tickets_site_id_created_at", "tickets", ["site_id", "created_at", "id"])
