"""Ticket priorities and the status `waiting`

Contracts promise different times for different urgencies, so a ticket carries a priority (`low`,
`normal`, `high`, `urgent`); every existing ticket is `normal`, as a new one is without a choice.
`waiting` (on the customer) is a status of its own because service-level clocks pause in it.
The list sorted by priority pages on one instant per ticket, stored with it (`priority_key`): its
creation time moved by 2,000 years per step of priority, indexed per tenant, overall and per site.

Revision ID: 5a1e7c3d9b20
Revises: 3c8d2e6f9a41
Create Date: 2026-11-30 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1e7c3d9b20"
down_revision: str | None = "3c8d2e6f9a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRIORITY_KEY = (
    "timezone('UTC', timezone('UTC', created_at) + CASE priority WHEN 'low' THEN interval '0 years' "
    "WHEN 'normal' THEN interval '2000 years' WHEN 'high' THEN interval '4000 years' "
    "ELSE interval '6000 years' END)"
)


def upgrade() -> None:
    op.add_column(
        "tickets", sa.Column("priority", sa.String(length=10), server_default="normal", nullable=False)
    )
    op.create_check_constraint(
        op.f("ck_tickets_priority"), "tickets", "priority IN ('low', 'normal', 'high', 'urgent')"
    )
    op.drop_constraint(op.f("ck_tickets_status"), "tickets", type_="check")
    op.create_check_constraint(
        op.f("ck_tickets_status"), "tickets", "status IN ('open', 'in_progress', 'waiting', 'closed')"
    )
    op.add_column(
        "tickets",
        sa.Column(
            "priority_key",
            sa.DateTime(timezone=True),
            sa.Computed(PRIORITY_KEY, persisted=True),
            nullable=False,
        ),
    )
    op.create_index("ix_tickets_tenant_id_priority_key", "tickets", ["tenant_id", "priority_key", "id"])
    op.create_index("ix_tickets_priority_key_id", "tickets", ["priority_key", "id"])
    op.create_index(
        "ix_tickets_site_id_priority_key",
        "tickets",
        ["site_id", "priority_key", "id"],
        postgresql_include=["ticket_type_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_site_id_priority_key", table_name="tickets")
    op.drop_index("ix_tickets_priority_key_id", table_name="tickets")
    op.drop_index("ix_tickets_tenant_id_priority_key", table_name="tickets")
    op.drop_column("tickets", "priority_key")
    op.execute("UPDATE tickets SET status = 'open' WHERE status = 'waiting'")
    op.drop_constraint(op.f("ck_tickets_status"), "tickets", type_="check")
    op.create_check_constraint(
        op.f("ck_tickets_status"), "tickets", "status IN ('open', 'in_progress', 'closed')"
    )
    op.drop_constraint(op.f("ck_tickets_priority"), "tickets", type_="check")
    op.drop_column("tickets", "priority")
