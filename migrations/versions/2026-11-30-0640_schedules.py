"""Schedules: recurring jobs and inspections

Facility-services contracts promise planned work ("Objektbegehung jeden Montag"). A schedule raises
one ticket per date of its recurrence rule on each of its sites; `schedule_occurrences` holds one row
per raised occurrence, its primary key making the raising happen exactly once however many workers
run. Tickets remember the schedule that raised them, and a form submission the ticket it was started
from (completing it closes that ticket). Existing tickets and submissions get null: they came from
no schedule and were started from no ticket.

Revision ID: 5d1f7a3c9e20
Revises: 7e41c9b2d5a8
Create Date: 2026-11-30 06:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d1f7a3c9e20"
down_revision: str | None = "7e41c9b2d5a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("ticket_type_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("form_template_id", sa.Uuid(), nullable=True),
        sa.Column("rrule", sa.String(length=500), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("catch_up_from", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("lead_days BETWEEN 0 AND 366", name=op.f("ck_schedules_lead_days_range")),
        sa.CheckConstraint(
            "ends_on IS NULL OR ends_on >= starts_on", name=op.f("ck_schedules_ends_after_start")
        ),
        sa.CheckConstraint(
            "priority IS NULL OR priority IN ('low', 'normal', 'high', 'urgent')",
            name=op.f("ck_schedules_priority"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_schedules_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_type_id"],
            ["ticket_types.id"],
            name=op.f("fk_schedules_ticket_type_id_ticket_types"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["employees.id"],
            name=op.f("fk_schedules_assignee_id_employees"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["form_template_id"],
            ["form_templates.id"],
            name=op.f("fk_schedules_form_template_id_form_templates"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["accounts.id"],
            name=op.f("fk_schedules_created_by_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
    )
    op.create_index("ix_schedules_tenant_id_created_at", "schedules", ["tenant_id", "created_at", "id"])
    op.create_index(op.f("ix_schedules_ticket_type_id"), "schedules", ["ticket_type_id"])
    op.create_index(op.f("ix_schedules_assignee_id"), "schedules", ["assignee_id"])
    op.create_index(op.f("ix_schedules_form_template_id"), "schedules", ["form_template_id"])
    op.create_index(op.f("ix_schedules_created_by_id"), "schedules", ["created_by_id"])
    op.create_table(
        "schedule_sites",
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_sites_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_schedule_sites_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("schedule_id", "site_id", name=op.f("pk_schedule_sites")),
    )
    op.create_index(op.f("ix_schedule_sites_site_id"), "schedule_sites", ["site_id"])
    op.create_table(
        "schedule_occurrences",
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("occurs_on", sa.Date(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_occurrences_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_schedule_occurrences_site_id_sites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_schedule_occurrences_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("schedule_id", "site_id", "occurs_on", name=op.f("pk_schedule_occurrences")),
    )
    op.create_index(op.f("ix_schedule_occurrences_ticket_id"), "schedule_occurrences", ["ticket_id"])
    op.add_column("tickets", sa.Column("schedule_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_tickets_schedule_id_schedules"),
        "tickets",
        "schedules",
        ["schedule_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_tickets_schedule_id"), "tickets", ["schedule_id"])
    op.add_column("form_submissions", sa.Column("ticket_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_form_submissions_ticket_id_tickets"),
        "form_submissions",
        "tickets",
        ["ticket_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_form_submissions_ticket_id"), "form_submissions", ["ticket_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_form_submissions_ticket_id"), table_name="form_submissions")
    op.drop_constraint(op.f("fk_form_submissions_ticket_id_tickets"), "form_submissions", type_="foreignkey")
    op.drop_column("form_submissions", "ticket_id")
    op.drop_index(op.f("ix_tickets_schedule_id"), table_name="tickets")
    op.drop_constraint(op.f("fk_tickets_schedule_id_schedules"), "tickets", type_="foreignkey")
    op.drop_column("tickets", "schedule_id")
    op.drop_table("schedule_occurrences")
    op.drop_table("schedule_sites")
    op.drop_table("schedules")
