"""SQL for form templates and submissions, starting from who may see which submission."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Site
from blink_api.customers.scope import assigned_sites, report_templates
from blink_api.forms import policy
from blink_api.forms.models import FormSubmission, FormTemplate, FormTemplateVersion, form_submission_tickets
from blink_api.identity.principals import CustomerUserPrincipal, EmployeePrincipal, Principal
from blink_api.identity.scope import served_tenants


def submission_scope(principal: Principal) -> ColumnElement[bool]:
    """Employees: submissions on their tenants' sites (admins: all). Submissions through a public link
    have no site; who sees them is `policy.sees_public_submissions`'s to say. Submissions of templates
    about no site (`subject` `none`): their author, and whom `policy.sees_siteless_submissions` names.
    Customer users: none (their reports are `report_scope`'s)."""
    if not isinstance(principal, EmployeePrincipal):
        return false()
    about_none = FormSubmission.subject == "none"
    siteless = (
        about_none
        if policy.sees_siteless_submissions(principal)
        else and_(about_none, FormSubmission.created_by_id == principal.id)
    )
    if principal.is_admin:
        return or_(FormSubmission.subject == "site", siteless)
    on_my_sites = FormSubmission.site_id.in_(select(Site.id).where(served_tenants(principal, Site.tenant_id)))
    public = and_(FormSubmission.subject == "site", FormSubmission.site_id.is_(None))
    if policy.sees_public_submissions(principal):
        return or_(on_my_sites, public, siteless)
    return or_(and_(FormSubmission.site_id.is_not(None), on_my_sites), siteless)


def report_scope(principal: Principal) -> ColumnElement[bool]:
    """The submissions a customer user reads as inspection reports: completed, on one of its assigned
    sites, of a template its customer chose as a report (`report_template_ids`). Employees reach
    submissions through `submission_scope`."""
    if not isinstance(principal, CustomerUserPrincipal):
        return false()
    return and_(
        FormSubmission.status == "completed",
        FormSubmission.site_id.in_(assigned_sites(principal.id, principal.customer_id)),
        FormSubmission.template_id.in_(report_templates(principal.customer_id)),
    )


def visible_submissions(principal: Principal) -> Select[Any]:
    return select(FormSubmission).where(submission_scope(principal))


async def version(session: AsyncSession, template_id: uuid.UUID, number: int) -> FormTemplateVersion:
    found = await session.scalar(
        select(FormTemplateVersion).where(
            FormTemplateVersion.template_id == template_id, FormTemplateVersion.version == number
        )
    )
    assert found is not None, "a template always has its versions"
    return found


async def versions_by_id(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, FormTemplateVersion]:
    rows = await session.scalars(select(FormTemplateVersion).where(FormTemplateVersion.id.in_(ids)))
    return {v.id: v for v in rows}


async def template_by_token(session: AsyncSession, token: str) -> FormTemplate | None:
    return await session.scalar(select(FormTemplate).where(FormTemplate.public_token == token))


async def ticket_ids(
    session: AsyncSession, submission_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    rows = await session.execute(
        select(form_submission_tickets.c.submission_id, form_submission_tickets.c.ticket_id)
        .where(form_submission_tickets.c.submission_id.in_(submission_ids))
        .order_by(form_submission_tickets.c.element_key)
    )
    result: dict[uuid.UUID, list[uuid.UUID]] = {s: [] for s in submission_ids}
    for submission_id, ticket_id in rows:
        result[submission_id].append(ticket_id)
    return result


async def link_ticket(
    session: AsyncSession, submission_id: uuid.UUID, element_key: str, ticket_id: uuid.UUID
) -> None:
    await session.execute(
        form_submission_tickets.insert().values(
            submission_id=submission_id, element_key=element_key, ticket_id=ticket_id
        )
    )
