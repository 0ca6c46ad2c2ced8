"""Form submissions as employees fill them in: found through the submission scope, answered against
the template's published version, photos and signatures claimed from the filler's uploads, completed
(see `completion`) and downloaded as PDF."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Site
from blink_api.files.models import Attachment
from blink_api.files.sniffing import IMAGE_TYPES
from blink_api.forms import completion, policy
from blink_api.forms import elements as el
from blink_api.forms import repository as repo
from blink_api.forms.models import FormSubmission, FormTemplate, FormTemplateVersion
from blink_api.forms.schemas import SubmissionCreate, SubmissionRead, SubmissionUpdate
from blink_api.identity.principals import EmployeePrincipal, Principal, ensure
from blink_api.kit.context import AppContext
from blink_api.kit.errors import Conflict, Invalid
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.rows import one_or_404
from blink_api.sites.service import get_site
from blink_api.tickets import service as tickets


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
            ticket_id=s.ticket_id,
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
    wanted = el.picture_answers(elements, answers)
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
    session: AsyncSession,
    principal: Principal,
    submission_id: uuid.UUID,
    *,
    lock: bool = False,
    as_report: bool = False,
) -> FormSubmission:
    """A submission the caller sees (404 otherwise); `as_report`: or one it reads as an inspection
    report (customer users: only the PDF)."""
    scope = repo.submission_scope(principal)
    if as_report:
        scope = or_(scope, repo.report_scope(principal))
    stmt = select(FormSubmission).where(scope, FormSubmission.id == submission_id)
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


async def _site_for(
    session: AsyncSession, principal: EmployeePrincipal, template: FormTemplate, site_id: uuid.UUID | None
) -> Site | None:
    """A `site` template's submission names a site of the caller's tenants; a `none` one names none."""
    if template.subject == "none":
        if site_id is not None:
            raise Invalid.at(
                ["body", "site_id"], "This form is filled in about no site: leave `site_id` out."
            )
        return None
    if site_id is None:
        raise Invalid.at(["body", "site_id"], "This form is filled in about a site: `site_id` is required.")
    return await get_site(session, principal, site_id)


async def _ticket_site(
    session: AsyncSession, principal: EmployeePrincipal, template: FormTemplate, body: SubmissionCreate
) -> tuple[Site, uuid.UUID]:
    """An inspection started from a ticket is filled in on the ticket's site; the ticket must be one
    the caller sees (404 otherwise) and still open to be closed by it."""
    if body.site_id is not None:
        raise Invalid.at(
            ["body", "site_id"], "Give `ticket_id` or `site_id`, not both: the ticket names the site."
        )
    if template.subject != "site":
        raise Invalid.at(["body", "ticket_id"], "This form is filled in about no site, so about no ticket.")
    ticket = await tickets.get_ticket(session, principal, body.ticket_id)  # type: ignore[arg-type]
    if ticket.status == "closed":
        raise Invalid.at(["body", "ticket_id"], "The ticket is closed: reopen it to inspect again.")
    return await get_site(session, principal, ticket.site_id), ticket.id


async def create_submission(
    ctx: AppContext, session: AsyncSession, principal: EmployeePrincipal, body: SubmissionCreate
) -> FormSubmission:
    template, version = await _published(session, body.template_id)
    ticket_id = None
    if body.ticket_id is not None:
        site, ticket_id = await _ticket_site(session, principal, template, body)
    else:
        site = await _site_for(session, principal, template, body.site_id)
    elements = el.parse_elements(version.elements)
    answers = el.check_answers(elements, body.answers, complete=body.complete)
    submission = FormSubmission(
        template_id=template.id,
        subject=template.subject,
        template_version_id=version.id,
        site_id=site.id if site else None,
        created_by_id=principal.id,
        status="draft",
        answers=answers,
        ticket_id=ticket_id,
    )
    session.add(submission)
    await session.flush()
    await _claim_uploads(session, principal, elements, answers, submission.id)
    if body.complete:
        await completion.complete(ctx, session, principal, submission, version, site)
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
        if sent["site_id"] is None and submission.subject == "site":
            raise Invalid.at(["body", "site_id"], "This field cannot be null.")
        if sent["site_id"] is not None and submission.subject == "none":
            raise Invalid.at(
                ["body", "site_id"], "This form is filled in about no site: leave `site_id` out."
            )
        if sent["site_id"] is not None and submission.ticket_id is not None:
            raise Invalid.at(
                ["body", "site_id"], "This form is filled in for a ticket: its site is the ticket's."
            )
        if sent["site_id"] is not None:
            submission.site_id = (await get_site(session, principal, sent["site_id"])).id
    if "answers" in sent:
        version = await session.get(FormTemplateVersion, submission.template_version_id)
        assert version is not None
        elements = el.parse_elements(version.elements)
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
    assert version is not None
    elements = el.parse_elements(version.elements)
    el.check_answers(elements, submission.answers, complete=True)
    # The photos must still be there: a draft's photo may have been deleted since it was answered.
    await _claim_uploads(session, principal, elements, submission.answers, submission.id)
    site = await get_site(session, principal, submission.site_id) if submission.site_id else None
    await completion.complete(ctx, session, principal, submission, version, site)
    await session.flush()
    return submission


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
    submission = await get_submission(session, principal, submission_id, as_report=True)
    version = await session.get(FormTemplateVersion, submission.template_version_id)
    assert version is not None
    filename = f"{version.name}.pdf"
    if submission.status == "completed" and submission.pdf_storage_key is None:
        submission = await get_submission(session, principal, submission_id, lock=True, as_report=True)
        await session.refresh(submission)
        if submission.pdf_storage_key is None:
            site = await session.get(Site, submission.site_id) if submission.site_id else None
            await completion.store_pdf(
                ctx,
                submission,
                await completion.render_pdf(ctx, session, principal, submission, version, site),
            )
            await session.flush()
    if submission.pdf_storage_key is not None:
        assert submission.pdf_size is not None
        return SubmissionPdf(filename, storage_key=submission.pdf_storage_key, size=submission.pdf_size)
    site = await session.get(Site, submission.site_id) if submission.site_id else None
    data = await completion.render_pdf(ctx, session, principal, submission, version, site)
    return SubmissionPdf(filename, size=len(data), data=data)
