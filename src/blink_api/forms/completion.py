"""Completing a submission, once, under the row lock its caller holds: the tickets its answers ask for
are raised, and the filled form is rendered as a PDF, stored and attached to the tickets that want it."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers import repository as customers_repo
from blink_api.customers.models import Site
from blink_api.files import service as files
from blink_api.files.models import Attachment
from blink_api.forms import elements as el
from blink_api.forms import pdf
from blink_api.forms import repository as repo
from blink_api.forms.models import FormSubmission, FormTemplateVersion
from blink_api.identity.models import Account
from blink_api.identity.principals import EmployeePrincipal, Principal
from blink_api.kit.context import AppContext
from blink_api.kit.errors import Invalid
from blink_api.notifications.events import Event, publish
from blink_api.ticket_types.models import TicketType
from blink_api.tickets import repository as repo_tickets
from blink_api.tickets import service as tickets
from blink_api.tickets.models import Ticket
from blink_api.tickets.schemas import TicketCreate, TicketUpdate


async def complete(
    ctx: AppContext,
    session: AsyncSession,
    principal: EmployeePrincipal,
    submission: FormSubmission,
    version: FormTemplateVersion,
    site: Site | None,
) -> None:
    """Raises a ticket for every visible, answered ticket element, marks the submission completed and
    keeps its PDF. The caller has checked the answers and holds the submission's row. Without a site
    (a template about none) there are no ticket elements."""
    elements = el.parse_elements(version.elements)
    shown = el.visible_keys(elements, submission.answers)
    raised: list[tuple[Any, Any]] = []
    for element in elements:
        if (
            element.type != "ticket"
            or element.key not in shown
            or submission.answers.get(element.key) is None
        ):
            continue
        if site is None:
            raise Invalid.at(["body", "answers", element.key], "Tickets need a site; this form has none.")
        ticket_type = await session.get(TicketType, element.ticket_type_id)
        if ticket_type is None or ticket_type.tenant_id != site.tenant_id:
            raise Invalid.at(
                ["body", "answers", element.key],
                f"The ticket type of '{element.key}' does not belong to the tenant of the site '{site.name}'",
            )
        answer = submission.answers[element.key]
        ticket = await tickets.create_ticket(
            session,
            principal,
            TicketCreate(
                site_id=site.id,
                ticket_type_id=element.ticket_type_id,
                title=answer.get("title") or element.title,
                description=answer.get("description", element.description),
                due_date=answer.get("due_date"),
            ),
            settings=ctx.settings,
        )
        await repo.link_ticket(session, submission.id, element.key, ticket.id)
        raised.append((element, ticket))
    submission.status = "completed"
    submission.completed_at = dt.datetime.now(dt.UTC)
    await session.flush()
    # Rendered once, now: the stored PDF is the document from here on, for the tickets and downloads.
    document = await render_pdf(ctx, session, principal, submission, version, site, [t for _, t in raised])
    await store_pdf(ctx, submission, document)
    name = f"{version.name} {submission.completed_at:%Y-%m-%d}.pdf"
    for element, ticket in raised:
        if element.attach_pdf:
            await _attach(ctx, session, principal, ticket.id, name, document)
    if submission.ticket_id is not None:
        await _close_inspected(ctx, session, principal, submission, name, document)
    await publish(session, Event("form_submission.completed", site.id if site else None, submission))


async def _close_inspected(
    ctx: AppContext,
    session: AsyncSession,
    principal: EmployeePrincipal,
    submission: FormSubmission,
    name: str,
    document: bytes,
) -> None:
    """The inspection a ticket asked for is done: its PDF goes onto the ticket, which is closed, and
    the ticket's history names the submission that did it. A ticket the filler no longer sees, or
    closed meanwhile, keeps its state; the PDF is attached to a visible one all the same."""
    ticket_id = submission.ticket_id
    assert ticket_id is not None
    ticket = await repo_tickets.get_visible(session, principal, ticket_id)
    if ticket is None:
        return
    await _attach(ctx, session, principal, ticket_id, name, document)
    repo_tickets.add_event(
        session,
        ticket_id,
        principal.id,
        "form_completed",
        field="form_submission",
        new={"id": str(submission.id)},
        public=True,
    )
    if ticket.status != "closed":
        await tickets.update_ticket(
            session, principal, ticket_id, TicketUpdate(status="closed"), None, settings=ctx.settings
        )


async def store_pdf(ctx: AppContext, submission: FormSubmission, data: bytes) -> None:
    """Keeps `data` as the submission's PDF; from then on it is served as stored."""
    submission.pdf_storage_key = await files.put_bytes(ctx.storage, "form-pdfs", data)
    submission.pdf_size = len(data)
    submission.pdf_sha256 = hashlib.sha256(data).hexdigest()


async def _attach(
    ctx: AppContext, session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, name: str, data: bytes
) -> None:
    attachment = await files.store_document(
        session,
        ctx.storage,
        principal,
        ticket_id=ticket_id,
        filename=name,
        content_type="application/pdf",
        data=data,
    )
    tickets.record_attachment(session, principal.id, attachment, "attachment_added")
    await session.flush()
    site_id = await session.scalar(select(Ticket.site_id).where(Ticket.id == ticket_id))
    assert site_id is not None
    await publish(session, Event("ticket.attachment_added", site_id, attachment))


async def _read_all(ctx: AppContext, key: str) -> bytes:
    return b"".join([chunk async for chunk in ctx.storage.read(key)])


async def render_pdf(
    ctx: AppContext,
    session: AsyncSession,
    caller: Principal,
    submission: FormSubmission,
    version: FormTemplateVersion,
    site: Site | None,
    raised: list[Any] | None = None,
) -> bytes:
    """The filled form as a PDF: at completion, at a first download that finds none stored, and for a
    draft on demand. Rendered in the caller's turn (see `capacity.Gate`), off the event loop. Each
    photo is read and shrunk to what the page shows one at a time, so a render holds small pictures
    only."""
    elements = el.parse_elements(version.elements)
    picture_keys = el.picture_answers(elements, submission.answers)
    uploads = (
        list(
            await session.scalars(
                select(Attachment).where(Attachment.id.in_([uuid.UUID(i) for i in picture_keys]))
            )
        )
        if picture_keys
        else []
    )
    if raised is None:
        ids = (await repo.ticket_ids(session, [submission.id]))[submission.id]
        raised = list(await session.scalars(select(Ticket).where(Ticket.id.in_(ids)))) if ids else []
    submitter = await session.get(Account, submission.created_by_id) if submission.created_by_id else None
    # What the site's customer users see of it: the PDF reaches them (reports, their tickets' files).
    shown = frozenset(await customers_repo.enabled_type_ids(session, site.customer_id)) if site else None
    async with ctx.renders.turn(caller.id):
        images: dict[str, pdf.Picture | None] = {}
        for upload in uploads:
            data = await _read_all(ctx, upload.storage_key)
            images[picture_keys[str(upload.id)]] = await anyio.to_thread.run_sync(pdf.picture, data)
            del data
        form = pdf.FilledForm(
            template_name=version.name,
            version=version.version,
            site=site.name if site else "-",
            submitter=submitter.name if submitter else "Öffentlicher Link",
            completed_at=submission.completed_at,
            elements=elements,
            answers=submission.answers,
            visible=el.visible_keys(elements, submission.answers),
            images=images,
            tickets=[(t.number, t.title) for t in raised if shown is None or t.ticket_type_id in shown],
            ticket_types_shown=shown,
        )
        # reportlab is synchronous and CPU-bound: off the event loop.
        return await anyio.to_thread.run_sync(pdf.render, form)
