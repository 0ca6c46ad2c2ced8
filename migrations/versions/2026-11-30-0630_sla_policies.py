"""Service-level policies and the clocks of tickets

Contracts promise first-response and resolution times in business hours. A tenant's policies say
which tickets get which targets; each ticket keeps the due times it was given (stored, so that reads
and the breach scan never recompute them), when they were met and when a breach was recorded, so
that each breach is handled once. Existing tickets get no policy: their `sla` stays null. Two
generated columns hold the next due time (for `sla_due_before`) and the next unrecorded one (for the
breach scan), each behind a partial index that holds open tickets with a running target only.

Revision ID: 7e41c9b2d5a8
Revises: 7b3e9c1d5f20
Create Date: 2026-11-30 06:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7e41c9b2d5a8"
down_revision: str | None = "7b3e9c1d5f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLA_DUE_AT = (
    "LEAST(CASE WHEN sla_first_response_met_at IS NULL THEN sla_first_response_due_at END, "
    "CASE WHEN sla_resolution_met_at IS NULL AND sla_resolution_paused_at IS NULL "
    "THEN sla_resolution_due_at END)"
)
SLA_BREACH_DUE_AT = (
    "LEAST(CASE WHEN sla_first_response_met_at IS NULL AND sla_first_response_breached_at IS NULL "
    "THEN sla_first_response_due_at END, "
    "CASE WHEN sla_resolution_met_at IS NULL AND sla_resolution_paused_at IS NULL "
    "AND sla_resolution_breached_at IS NULL THEN sla_resolution_due_at END)"
)
_TIMES = (
    "sla_first_response_due_at",
    "sla_first_response_met_at",
    "sla_first_response_breached_at",
    "sla_resolution_due_at",
    "sla_resolution_met_at",
    "sla_resolution_breached_at",
    "sla_resolution_paused_at",
    "sla_resolution_anchor_at",
)


def upgrade() -> None:
    op.create_table(
        "sla_policies",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("ticket_type_id", sa.Uuid(), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=True),
        sa.Column("first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "first_response_minutes IS NOT NULL OR resolution_minutes IS NOT NULL",
            name=op.f("ck_sla_policies_some_target"),
        ),
        sa.CheckConstraint(
            "first_response_minutes BETWEEN 1 AND 525600",
            name=op.f("ck_sla_policies_first_response_minutes_range"),
        ),
        sa.CheckConstraint(
            "resolution_minutes BETWEEN 1 AND 525600", name=op.f("ck_sla_policies_resolution_minutes_range")
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')", name=op.f("ck_sla_policies_priority")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sla_policies_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_sla_policies_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_type_id"],
            ["ticket_types.id"],
            name=op.f("fk_sla_policies_ticket_type_id_ticket_types"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_sla_policies_tenant_id_name")),
    )
    op.create_index("ix_sla_policies_tenant_id_created_at", "sla_policies", ["tenant_id", "created_at", "id"])
    op.create_index(op.f("ix_sla_policies_customer_id"), "sla_policies", ["customer_id"])
    op.create_index(op.f("ix_sla_policies_ticket_type_id"), "sla_policies", ["ticket_type_id"])

    op.create_table(
        "sla_recomputations",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=True),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sla_recomputations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_recomputations")),
    )
    op.create_index(op.f("ix_sla_recomputations_tenant_id"), "sla_recomputations", ["tenant_id"])

    op.add_column("tickets", sa.Column("sla_policy_id", sa.Uuid(), nullable=True))
    for name in _TIMES:
        op.add_column("tickets", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column("tickets", sa.Column("sla_resolution_credit_seconds", sa.BigInteger(), nullable=True))
    op.add_column(
        "tickets",
        sa.Column("sla_due_at", sa.DateTime(timezone=True), sa.Computed(SLA_DUE_AT, persisted=True)),
    )
    op.add_column(
        "tickets",
        sa.Column(
            "sla_breach_due_at", sa.DateTime(timezone=True), sa.Computed(SLA_BREACH_DUE_AT, persisted=True)
        ),
    )
    op.create_foreign_key(
        op.f("fk_tickets_sla_policy_id_sla_policies"),
        "tickets",
        "sla_policies",
        ["sla_policy_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_tickets_sla_policy_id"), "tickets", ["sla_policy_id"])
    op.create_index(
        "ix_tickets_tenant_id_sla_due_at",
        "tickets",
        ["tenant_id", "sla_due_at", "id"],
        postgresql_where=sa.text("sla_due_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_site_id_sla_due_at",
        "tickets",
        ["site_id", "sla_due_at", "id"],
        postgresql_include=["ticket_type_id"],
        postgresql_where=sa.text("sla_due_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_sla_due_at",
        "tickets",
        ["sla_due_at", "id"],
        postgresql_where=sa.text("sla_due_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_sla_breach_due_at",
        "tickets",
        ["sla_breach_due_at"],
        postgresql_where=sa.text("sla_breach_due_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_sla_breach_due_at", table_name="tickets")
    op.drop_index("ix_tickets_sla_due_at", table_name="tickets")
    op.drop_index("ix_tickets_site_id_sla_due_at", table_name="tickets")
    op.drop_index("ix_tickets_tenant_id_sla_due_at", table_name="tickets")
    op.drop_index(op.f("ix_tickets_sla_policy_id"), table_name="tickets")
    op.drop_constraint(op.f("fk_tickets_sla_policy_id_sla_policies"), "tickets", type_="foreignkey")
    op.drop_column("tickets", "sla_breach_due_at")
    op.drop_column("tickets", "sla_due_at")
    op.drop_column("tickets", "sla_resolution_credit_seconds")
    for name in reversed(_TIMES):
        op.drop_column("tickets", name)
    op.drop_column("tickets", "sla_policy_id")
    op.drop_index(op.f("ix_sla_recomputations_tenant_id"), table_name="sla_recomputations")
    op.drop_table("sla_recomputations")
    op.drop_index(op.f("ix_sla_policies_ticket_type_id"), table_name="sla_policies")
    op.drop_index(op.f("ix_sla_policies_customer_id"), table_name="sla_policies")
    op.drop_index("ix_sla_policies_tenant_id_created_at", table_name="sla_policies")
    op.drop_table("sla_policies")
