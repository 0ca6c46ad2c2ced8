"""Form rules: template versions, checked answers, and the one-time completion that raises tickets."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Site
from blink_api.files import service as files
from blink_api.files.models import Attachment
from blink_api.files.sniffing import IMAGE_TYPES
from blink_api.forms import elements as el
from blink_api.forms import pdf, policy
from blink_api.forms import repository as repo
from blink_api.forms.models import FormSubmission, FormTemplate, FormTemplateVersion
from blink_api.forms.schemas import (
    PublicForm,
    PublicSubmissionCreate,
    SubmissionCreate,
    SubmissionRead,
    SubmissionUpdate,
    TemplateCreate,
    TemplateRead,
    TemplateUpdate,
)
from blink_api.identity.models import Account
from blink_api.identity.principals import EmployeePrincipal, Principal, ensure
from blink_api.kit.context import AppContext
from blink_api.kit.errors import Conflict, FieldError, Invalid, NotFound
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.rows import delete_or_409, one_or_404
from blink_api.sites.service import get_site
from blink_api.ticket_types.models import TicketCategory, TicketType
from blink_api.ticket_types.repository import visible_ticket_types
from blink_api.tickets import service as tickets
from blink_api.tickets.models import Ticket
from blink_api.tickets.schemas import TicketCreate

_elements = TypeAdapter(list[el.Element])


def parse_elements(raw: list[dict[str, Any]]) -> list[Any]:
    return _elements.validate_python(raw)


def _dump(elements: list[Any]) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json", exclude_none=True) for e in elements]


# -- templates -----------------------------------------------------------------------------------


async def _check_ticket_types(
    session: AsyncSession, principal: EmployeePrincipal, elements: list[Any]
) -> None:
    """The seed: every type except absence requests. Templates are shared by all tenants, but a
    manager may only name the types it sees itself (those of its tenants; admins: all): any other id
    answers exactly like one that does not exist."""
    wanted = {e.ticket_type_id for e in elements if e.type == "ticket"}
    if not wanted:
        return
    found = {
        t.id: t
        for t in await session.scalars(visible_ticket_types(principal).where(TicketType.id.in_(wanted)))
    }
    errors = []
    for index, element in enumerate(elements):
        if element.type != "ticket":
            continue
        ticket_type = found.get(element.ticket_type_id)
        loc: list[str | int] = ["body", "elements", index, "ticket_type_id"]
        if ticket_type is None:
            errors.append(FieldError(loc=loc, msg="No ticket type with this id was found.", type="not_found"))
        elif ticket_type.category == TicketCategory.absence:
            errors.append(
                FieldError(loc=loc, type="absence_type", msg="Absence types cannot be raised by a form.")
            )
    if errors:
        raise Invalid(errors[0].msg, errors=errors)


def _read(template: FormTemplate, version: FormTemplateVersion) -> TemplateRead:
    return TemplateRead(
        id=template.id,
        name=version.name,
        description=version.description,
        is_public=version.is_public,
        elements=parse_elements(version.elements),
        version=version.version,
        status="published" if version.published_at else "draft",
        published_version=template.published_version,
        public_token=template.public_token,
        created_at=template.created_at,
        updated_at=max(template.updated_at, version.updated_at),
    )


async def _template(session: AsyncSession, template_id: uuid.UUID, *, lock: bool = False) -> FormTemplate:
    stmt = select(FormTemplate).where(FormTemplate.id == template_id)
    if lock:
        stmt = stmt.with_for_update()
    return await one_or_404(session, stmt, "Form template")


async def create_template(
    session: AsyncSession, principal: EmployeePrincipal, body: TemplateCreate
) -> TemplateRead:
    el.check_template(body.elements, is_public=body.is_public)
    await _check_ticket_types(session, principal, body.elements)
    template = FormTemplate(created_by_id=principal.id, latest_version=1)
    session.add(template)
    await session.flush()
    version = FormTemplateVersion(
        template_id=template.id,
        version=1,
        name=body.name,
        description=body.description,
        is_public=body.is_public,
        elements=_dump(body.elements),
    )
    session.add(version)
    await session.flush()
    return _read(template, version)


async def update_template(
    session: AsyncSession,
    principal: EmployeePrincipal,
    template_id: uuid.UUID,
    body: TemplateUpdate | TemplateCreate,
) -> TemplateRead:
    template = await _template(session, template_id, lock=True)
    latest = await repo.version(session, template.id, template.latest_version)
    sent = body.model_dump(exclude_unset=True) if isinstance(body, TemplateUpdate) else body.model_dump()
    for field in ("name", "is_public", "elements"):
        if field in sent and sent[field] is None:
            raise Invalid.at(["body", field], "This field cannot be null.")
    new_elements = body.elements if "elements" in sent else parse_elements(latest.elements)
    is_public = sent.get("is_public", latest.is_public)
    el.check_template(new_elements, is_public=is_public)
    await _check_ticket_types(session, principal, new_elements)
    if latest.published_at is not None:
        # Published versions are immutable: the change becomes the next version, a draft.
        latest = FormTemplateVersion(
            template_id=template.id,
            version=template.latest_version + 1,
            name=latest.name,
            description=latest.description,
            is_public=latest.is_public,
            elements=latest.elements,
        )
        session.add(latest)
        template.latest_version += 1
    latest.name = sent.get("name", latest.name)
    if "description" in sent:
        latest.description = sent["description"]
    latest.is_public = is_public
    latest.elements = _dump(new_elements)
    await session.flush()
    await session.refresh(template)
    return _read(template, latest)


async def publish_template(
    session: AsyncSession, principal: EmployeePrincipal, template_id: uuid.UUID
) -> TemplateRead:
    template = await _template(session, template_id, lock=True)
    latest = await repo.version(session, template.id, template.latest_version)
    if (reason := policy.why_not_publish(latest)) is not None:
        raise Conflict(reason)
    elements = parse_elements(latest.elements)
    el.check_template(elements, is_public=latest.is_public)
    await _check_ticket_types(session, principal, elements)
    latest.published_at = dt.datetime.now(dt.UTC)
    template.published_version = latest.version
    if latest.is_public:
        template.public_token = template.public_token or secrets.token_urlsafe(24)
    else:
        template.public_token = None
    await session.flush()
    await session.refresh(template)
    return _read(template, latest)


async def get_template(session: AsyncSession, principal: Principal, template_id: uuid.UUID) -> TemplateRead:
    template = await _template(session, template_id)
    if policy.sees_template_drafts(principal):
        return _read(template, await repo.version(session, template.id, template.latest_version))
    if template.published_version is None:
        raise NotFound("Form template not found.")
    return _read(template, await repo.version(session, template.id, template.published_version))


async def list_templates(session: AsyncSession, principal: Principal, page: PageParams) -> Page[TemplateRead]:
    sees_drafts = policy.sees_template_drafts(principal)
    stmt = select(FormTemplate)
    if not sees_drafts:
        stmt = stmt.where(FormTemplate.published_version.is_not(None))
    rows, cursor = await paginate(
        session, stmt, page, created_at=FormTemplate.created_at, id_=FormTemplate.id
    )
    wanted = [(t.id, t.latest_version if sees_drafts else t.published_version) for t in rows]
    versions = {
        (v.template_id, v.version): v
        for v in await session.scalars(
            select(FormTemplateVersion).where(FormTemplateVersion.template_id.in_([t for t, _ in wanted]))
        )
    }
    items = [_read(t, versions[(t.id, n)]) for t, (_, n) in zip(rows, wanted, strict=True)]
    return Page[TemplateRead](items=items, next_cursor=cursor)


async def delete_template(session: AsyncSession, template_id: uuid.UUID) -> None:
    template = await _template(session, template_id, lock=True)
    await delete_or_409(session, template, "The form template (it has submissions)")


# -- submissions ---------------------------------------------------------------------------------


async def _published(
    session: AsyncSession, template_id: uuid.UUID
) -> tuple[FormTemplate, FormTemplateVersion]:
    template = await session.get(FormTemplate, template_id)
    if template is None or template.published_version is None:
        raise Invalid.at(["body", "template_id"], "No published form template with this id exists.")
    return template, await repo.version(session, template.id, template.published_version)


async def _read_submissions(session: AsyncSession, rows: list[FormSubmission]) -> list[SubmissionRead]:
    versions = await repo.versions_by_id(session, [s.template_version_id for s in rows])
    tickets_of = await repo.ticket_ids(session, [s.id for s in rows])
    return [
        SubmissionRead(
            id=s.id,
            template_id=s.template_id,
            template_version=versions[s.template_version_id].version,
            site_id=s.site_id,
            status=s.status,  # type: ignore[arg-type]
            answers=s.answers,
            ticket_ids=tickets_of[s.id],
            created_by=s.created_by_id,
            created_at=s.created_at,
            updated_at=s.updated_at,
            completed_at=s.completed_at,
        )
        for s in rows
    ]


async def read_submission(session: AsyncSession, submission: FormSubmission) -> SubmissionRead:
    return (await _read_submissions(session, [submission]))[0]


async def _claim_uploads(
    session: AsyncSession,
    principal: Principal,
    elements: list[Any],
    answers: dict[str, Any],
    submission_id: uuid.UUID,
) -> None:
    """Photos and signatures must be images the submitter uploaded and no other submission uses."""
    wanted = {
        answers[e.key]: e.key for e in elements if e.type in ("photo", "signature") and e.key in answers
    }
    if not wanted:
        return
    found = {
        str(a.id): a
        for a in await session.scalars(
            select(Attachment).where(Attachment.id.in_([uuid.UUID(i) for i in wanted])).with_for_update()
        )
    }
    for attachment_id, key in wanted.items():
        upload = found.get(attachment_id)
        if (
            upload is None
            or upload.created_by != principal.id
            or upload.ticket_id is not None
            or upload.form_submission_id not in (None, submission_id)
        ):
            raise Invalid.at(["body", "answers", key], "No upload of yours with this id is free to use.")
        if upload.content_type not in IMAGE_TYPES:
            raise Invalid.at(["body", "answers", key], "Photos and signatures must be images.")
        upload.form_submission_id = submission_id


async def get_submission(
    session: AsyncSession, principal: Principal, submission_id: uuid.UUID, *, lock: bool = False
) -> FormSubmission:
    stmt = repo.visible_submissions(principal).where(FormSubmission.id == submission_id)
    if lock:
        stmt = stmt.with_for_update()
    return await one_or_404(session, stmt, "Form submission")


async def list_submissions(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    template_id: uuid.UUID | None,
    site_id: uuid.UUID | None,
) -> Page[SubmissionRead]:
    stmt = repo.visible_submissions(principal)
    if template_id is not None:
        stmt = stmt.where(FormSubmission.template_id == template_id)
    if site_id is not None:
        stmt = stmt.where(FormSubmission.site_id == site_id)
    rows, cursor = await paginate(
        session, stmt, page, created_at=FormSubmission.created_at, id_=FormSubmission.id
    )
    return Page[SubmissionRead](items=await _read_submissions(session, list(rows)), next_cursor=cursor)


async def create_submission(
    ctx: AppContext, session: AsyncSession, principal: EmployeePrincipal, body: SubmissionCreate
) -> FormSubmission:
    template, version = await _published(session, body.template_id)
    site = await get_site(session, principal, body.site_id)
    elements = parse_elements(version.elements)
    answers = el.check_answers(elements, body.answers, complete=body.complete)
    submission = FormSubmission(
        template_id=template.id,
        template_version_id=version.id,
        site_id=site.id,
        created_by_id=principal.id,
        status="draft",
        answers=answers,
    )
    session.add(submission)
    await session.flush()
    await _claim_uploads(session, principal, elements, answers, submission.id)
    if body.complete:
        await _complete(ctx, session, principal, submission, version, site)
    await session.flush()
    return submission


async def update_submission(
    session: AsyncSession, principal: EmployeePrincipal, submission_id: uuid.UUID, body: SubmissionUpdate
) -> FormSubmission:
    submission = await get_submission(session, principal, submission_id, lock=True)
    ensure(policy.why_not_change_submission(principal, submission))
    if (reason := policy.why_not_change_after_completion(submission)) is not None:
        raise Conflict(reason)
    sent = body.model_dump(exclude_unset=True)
    if "site_id" in sent:
        if sent["site_id"] is None:
            raise Invalid.at(["body", "site_id"], "This field cannot be null.")
        submission.site_id = (await get_site(session, principal, sent["site_id"])).id
    if "answers" in sent:
        version = await session.get(FormTemplateVersion, submission.template_version_id)
        assert version is not None
        elements = parse_elements(version.elements)
        submission.answers = el.check_answers(elements, sent["answers"] or {}, complete=False)
        await _claim_uploads(session, principal, elements, submission.answers, submission.id)
    await session.flush()
    return submission


async def complete_submission(
    ctx: AppContext, session: AsyncSession, principal: EmployeePrincipal, submission_id: uuid.UUID
) -> FormSubmission:
    """Completes once: the row lock makes a concurrent second call wait and then find it completed."""
    submission = await get_submission(session, principal, submission_id, lock=True)
    if submission.status == "completed":
        return submission
    ensure(policy.why_not_complete_submission(principal, submission))
    version = await session.get(FormTemplateVersion, submission.template_version_id)
    assert version is not None and submission.site_id is not None
    elements = parse_elements(version.elements)
    el.check_answers(elements, submission.answers, complete=True)
    # The photos must still be there: a draft's photo may have been deleted since it was answered.
    await _claim_uploads(session, principal, elements, submission.answers, submission.id)
    site = await get_site(session, principal, submission.site_id)
    await _complete(ctx, session, principal, submission, version, site)
    await session.flush()
    return submission


async def _complete(
    ctx: AppContext,
    session: AsyncSession,
    principal: EmployeePrincipal,
    submission: FormSubmission,
    version: FormTemplateVersion,
    site: Site,
) -> None:
    elements = parse_elements(version.elements)
    shown = el.visible_keys(elements, submission.answers)
    raised: list[tuple[Any, Any]] = []
    for element in elements:
        if (
            element.type != "ticket"
            or element.key not in shown
            or submission.answers.get(element.key) is None
        ):
            continue
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
    await _store_pdf(ctx, submission, document)
    name = f"{version.name} {submission.completed_at:%Y-%m-%d}.pdf"
    for element, ticket in raised:
        if element.attach_pdf:
            await _attach(ctx, session, principal, ticket.id, name, document)


async def _store_pdf(ctx: AppContext, submission: FormSubmission, data: bytes) -> None:
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
    """Rendered in the caller's turn (see `capacity.Gate`), off the event loop. Each photo is read
    and shrunk to what the page shows one at a time, so a render holds small pictures only."""
    elements = parse_elements(version.elements)
    picture_keys = {
        submission.answers[e.key]: e.key
        for e in elements
        if e.type in ("photo", "signature") and e.key in submission.answers
    }
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
            tickets=[(t.number, t.title) for t in raised],
        )
        # reportlab is synchronous and CPU-bound: off the event loop.
        return await anyio.to_thread.run_sync(pdf.render, form)


@dataclass
class SubmissionPdf:
    """A submission's PDF: the stored object of a completed one, or the bytes of a draft's render."""

    filename: str
    storage_key: str | None = None
    size: int = 0
    data: bytes | None = None


async def submission_pdf(
    ctx: AppContext, session: AsyncSession, principal: Principal, submission_id: uuid.UUID
) -> SubmissionPdf:
    """A completed submission's PDF never changes and is served as stored. One without a stored PDF
    yet (through a public link, or completed before PDFs were kept) is rendered at its first download,
    under the row lock so that two first downloads store one. A draft is rendered on demand."""
    submission = await get_submission(session, principal, submission_id)
    version = await session.get(FormTemplateVersion, submission.template_version_id)
    assert version is not None
    filename = f"{version.name}.pdf"
    if submission.status == "completed" and submission.pdf_storage_key is None:
        submission = await get_submission(session, principal, submission_id, lock=True)
        await session.refresh(submission)
        if submission.pdf_storage_key is None:
            site = await session.get(Site, submission.site_id) if submission.site_id else None
            await _store_pdf(
                ctx, submission, await render_pdf(ctx, session, principal, submission, version, site)
            )
            await session.flush()
    if submission.pdf_storage_key is not None:
        assert submission.pdf_size is not None
        return SubmissionPdf(filename, storage_key=submission.pdf_storage_key, size=submission.pdf_size)
    site = await session.get(Site, submission.site_id) if submission.site_id else None
    data = await render_pdf(ctx, session, principal, submission, version, site)
    return SubmissionPdf(filename, size=len(data), data=data)


# -- public links --------------------------------------------------------------------------------


async def _public_version(session: AsyncSession, token: str) -> tuple[FormTemplate, FormTemplateVersion]:
    template = await repo.template_by_token(session, token)
    if template is None or template.published_version is None:
        raise NotFound("Form not found.")
    version = await repo.version(session, template.id, template.published_version)
    if not version.is_public:
        raise NotFound("Form not found.")
    return template, version


async def public_form(session: AsyncSession, token: str) -> PublicForm:
    _, version = await _public_version(session, token)
    return PublicForm(
        name=version.name,
        description=version.description,
        version=version.version,
        elements=parse_elements(version.elements),
    )


async def public_submission(
    session: AsyncSession, token: str, body: PublicSubmissionCreate
) -> FormSubmission:
    """Filled in without a login; completed at once and never raises tickets (public forms have none)."""
    template, version = await _public_version(session, token)
    elements = parse_elements(version.elements)
    answers = el.check_answers(elements, body.answers, complete=True)
    for element in elements:
        if element.type in ("photo", "signature") and element.key in answers:
            raise Invalid.at(
                ["body", "answers", element.key], "Photos and signatures need a login to upload."
            )
    submission = FormSubmission(
        template_id=template.id,
        template_version_id=version.id,
        site_id=None,
        created_by_id=None,
        status="completed",
        answers=answers,
        completed_at=dt.datetime.now(dt.UTC),
    )
    session.add(submission)
    await session.flush()
    return submission
