"""Inspection reports: the completed submissions on a site of the form templates its customer chose
(`report_template_ids`), listed to the customer's users on their sites and to the site's employees."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Site
from blink_api.customers.scope import report_templates
from blink_api.forms import repository as repo
from blink_api.forms.models import FormSubmission, form_submission_tickets
from blink_api.forms.schemas import ReportAuthor, ReportRead
from blink_api.identity.models import Account
from blink_api.identity.principals import Principal
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.sites.service import get_site
from blink_api.tickets.models import Ticket
from blink_api.tickets.repository import ticket_scope


def site_reports(site: Site) -> Select[Any]:
    return select(FormSubmission).where(
        FormSubmission.site_id == site.id,
        FormSubmission.status == "completed",
        FormSubmission.template_id.in_(report_templates(site.customer_id)),
    )


async def _visible_tickets(
    session: AsyncSession, principal: Principal, submission_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The tickets each submission raised that the caller sees, in the template's element order."""
    found: dict[uuid.UUID, list[uuid.UUID]] = {s: [] for s in submission_ids}
    if not submission_ids:
        return found
    rows = await session.execute(
        select(form_submission_tickets.c.submission_id, form_submission_tickets.c.ticket_id)
        .join(Ticket, Ticket.id == form_submission_tickets.c.ticket_id)
        .where(form_submission_tickets.c.submission_id.in_(submission_ids), ticket_scope(principal))
        .order_by(form_submission_tickets.c.element_key)
    )
    for submission_id, ticket_id in rows:
        found[submission_id].append(ticket_id)
    return found


async def list_site_reports(
    session: AsyncSession, principal: Principal, site_id: uuid.UUID, page: PageParams
) -> Page[ReportRead]:
    """Newest completion first. Who sees the site (404 otherwise) sees its reports; each names only
    the tickets the caller sees among those it raised."""
    site = await get_site(session, principal, site_id)
    found, cursor = await paginate(
        session,
        site_reports(site),
        page,
        created_at=FormSubmission.completed_at,  # type: ignore[arg-type]
        id_=FormSubmission.id,
    )
    rows: list[FormSubmission] = list(found)
    versions = await repo.versions_by_id(session, [s.template_version_id for s in rows])
    authors = {
        a.id: a
        for a in await session.scalars(
            select(Account).where(Account.id.in_({s.created_by_id for s in rows if s.created_by_id}))
        )
    }
    tickets_of = await _visible_tickets(session, principal, [s.id for s in rows])
    items = []
    for s in rows:
        assert s.completed_at is not None and s.created_by_id is not None, "a completed site submission"
        items.append(
            ReportRead(
                id=s.id,
                template_name=versions[s.template_version_id].name,
                completed_at=s.completed_at,
                completed_by=ReportAuthor(name=authors[s.created_by_id].name),
                ticket_ids=tickets_of[s.id],
            )
        )
    return Page[ReportRead](items=items, next_cursor=cursor)
