"""Inspection reports for customers, forms without a site

A customer chooses form templates whose completed submissions on its sites its users read as
reports (`customer_report_templates`). A template is filled in about a site or about nothing
(`subject`); a submission carries its template's subject beside the template id, under one foreign
key, so that a check can tie its site to it: none for `none`, one for `site` (except through a public
link).

Revision ID: 3c8d5a1e9f47
Revises: 4c8d1e6a9b23
Create Date: 2026-11-30 05:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c8d5a1e9f47"
down_revision: str | None = "4c8d1e6a9b23"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "form_templates", sa.Column("subject", sa.String(10), nullable=False, server_default="site")
    )
    op.create_check_constraint(
        op.f("ck_form_templates_subject"), "form_templates", "subject IN ('site', 'none')"
    )
    op.create_unique_constraint("uq_form_templates_id_subject", "form_templates", ["id", "subject"])
    op.add_column(
        "form_submissions", sa.Column("subject", sa.String(10), nullable=False, server_default="site")
    )
    op.drop_constraint(
        "fk_form_submissions_template_id_form_templates", "form_submissions", type_="foreignkey"
    )
    op.create_foreign_key(
        "fk_form_submissions_template_id_form_templates",
        "form_submissions",
        "form_templates",
        ["template_id", "subject"],
        ["id", "subject"],
        ondelete="RESTRICT",
    )
    op.create_check_constraint(
        op.f("ck_form_submissions_site_matches_subject"),
        "form_submissions",
        "(subject = 'none' AND site_id IS NULL)"
        " OR (subject = 'site' AND (site_id IS NOT NULL OR created_by_id IS NULL))",
    )
    op.create_table(
        "customer_report_templates",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_customer_report_templates_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["form_templates.id"],
            name="fk_customer_report_templates_template_id_form_templates",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "template_id", name="pk_customer_report_templates"),
    )
    op.create_index("ix_customer_report_templates_template_id", "customer_report_templates", ["template_id"])


def downgrade() -> None:
    op.drop_index("ix_customer_report_templates_template_id", table_name="customer_report_templates")
    op.drop_table("customer_report_templates")
    # Submissions without a site that only a `none` template allowed cannot stay.
    op.execute("DELETE FROM form_submissions WHERE subject = 'none'")
    op.drop_constraint(op.f("ck_form_submissions_site_matches_subject"), "form_submissions", type_="check")
    op.drop_constraint(
        "fk_form_submissions_template_id_form_templates", "form_submissions", type_="foreignkey"
    )
    op.create_foreign_key(
        "fk_form_submissions_template_id_form_templates",
        "form_submissions",
        "form_templates",
        ["template_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.drop_column("form_submissions", "subject")
    op.drop_constraint("uq_form_templates_id_subject", "form_templates", type_="unique")
    op.drop_constraint(op.f("ck_form_templates_subject"), "form_templates", type_="check")
    op.drop_column("form_templates", "subject")
