"""Business hours per tenant

Service levels are promised in business hours: each tenant may keep a weekly calendar in its time
zone with a public-holiday region and closed dates. A tenant without a row keeps the default
calendar (Monday to Friday 08:00-17:00, Europe/Berlin), so existing tenants need no row.

Revision ID: 7b3e9c1d5f20
Revises: 5a1e7c3d9b20
Create Date: 2026-11-30 06:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7b3e9c1d5f20"
down_revision: str | None = "5a1e7c3d9b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_hours",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("weekly", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("holidays_region", sa.String(length=10), nullable=True),
        sa.Column(
            "closed_dates", postgresql.ARRAY(sa.Date()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_business_hours_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_business_hours")),
    )


def downgrade() -> None:
    op.drop_table("business_hours")
