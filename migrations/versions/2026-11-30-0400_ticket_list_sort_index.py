"""Indexes for the ticket list sorted by `updated_at`

Employees, administrators and customer users list tickets by the time they last changed
(`sort=-updated_at` or `updated_at`); these indexes give that order per tenant, overall and per site
(with the type, for the portal), as the `created_at` ones give the default, so that a page is found
from the index without reading and sorting every ticket of the tenant or site.

Revision ID: 7e4a1f2c8b60
Revises: 5b1c9e7d3f20
Create Date: 2026-11-30 04:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7e4a1f2c8b60"
down_revision: str | None = "5b1c9e7d3f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tickets_tenant_id_updated_at", "tickets", ["tenant_id", "updated_at", "id"])
    op.create_index("ix_tickets_updated_at_id", "tickets", ["updated_at", "id"])
    op.create_index(
        "ix_tickets_site_id_updated_at",
        "tickets",
        ["site_id", "updated_at", "id"],
        postgresql_include=["ticket_type_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_site_id_updated_at", table_name="tickets")
    op.drop_index("ix_tickets_updated_at_id", table_name="tickets")
    op.drop_index("ix_tickets_tenant_id_updated_at", table_name="tickets")
