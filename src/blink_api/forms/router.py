"""HTTP endpoints of form templates, submissions and public form links."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from blink_api.files.downloads import binary_content, download_headers, sent_as, stored_file
from blink_api.forms import public, reports, submissions, templates
from blink_api.forms.schemas import (
    PublicForm,
    PublicSubmissionCreate,
    PublicSubmissionRead,
    PublicToken,
    ReportRead,
    SubmissionCreate,
    SubmissionRead,
    SubmissionUpdate,
    TemplateCreate,
    TemplateRead,
    TemplateUpdate,
)
from blink_api.identity.dependencies import CurrentEmployee, CurrentPrincipal, Public, TemplateManager
from blink_api.kit.context import Ctx
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination
from blink_api.kit.ratelimit import per_client, retry_after_responses

templates_router = APIRouter(prefix="/form-templates", tags=["form-templates"])

TemplateId = Annotated[uuid.UUID, Path(description="The template's id; 404 when the caller does not see it.")]
SubmissionId = Annotated[
    uuid.UUID, Path(description="The submission's id; 404 when the caller does not see it.")
]
Token = Annotated[
    PublicToken,
    Path(description="The link token of a published public form (`public_token`); 404 when no form has it."),
]


@templates_router.get("", name="form-templates:list", responses=problem_responses(401, 403, 422))
async def list_templates(
    session: DbSession, employee: CurrentEmployee, page: Pagination
) -> Page[TemplateRead]:
    """Form templates, newest first, for employees. Template managers (`check:templates:manage`) see
    every template in its latest version, drafts included; other employees the published versions of
    templates that have one."""
    return await templates.list_templates(session, employee, page)


@templates_router.post(
    "",
    name="form-templates:create",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses("The new template (`GET /form-templates/{template_id}`)."),
        **problem_responses(401, 403, 422),
    },
)
async def create_template(
    session: DbSession, manager: TemplateManager, body: TemplateCreate, request: Request, response: Response
) -> TemplateRead:
    """Needs `check:templates:manage`. A new template is a draft (version 1) until published."""
    created = await templates.create_template(session, manager, body)
    response.headers["Location"] = location(request, "form-templates:read", template_id=created.id)
    return created


@templates_router.get(
    "/{template_id}", name="form-templates:read", responses=problem_responses(401, 403, 404, 422)
)
async def read_template(
    session: DbSession, employee: CurrentEmployee, template_id: TemplateId
) -> TemplateRead:
    """One form template, for employees: template managers read its latest version (a draft included),
    other employees its published version (404 before it has one)."""
    return await templates.get_template(session, employee, template_id)


@templates_router.put(
    "/{template_id}", name="form-templates:replace", responses=problem_responses(401, 403, 404, 409, 422)
)
async def replace_template(
    session: DbSession, manager: TemplateManager, template_id: TemplateId, body: TemplateCreate
) -> TemplateRead:
    """Replaces the draft as a whole (needs `check:templates:manage`); when the latest version is
    published, this becomes the next version, and the published one stays as it is. `subject` left out
    is `site`; it changes only before the first publication (409 after)."""
    return await templates.update_template(session, manager, template_id, body)


@templates_router.patch(
    "/{template_id}", name="form-templates:update", responses=problem_responses(401, 403, 404, 409, 422)
)
async def update_template(
    session: DbSession, manager: TemplateManager, template_id: TemplateId, body: TemplateUpdate
) -> TemplateRead:
    """Changes the fields sent of the draft (needs `check:templates:manage`); when the latest version is
    published, this becomes the next version, and the published one stays as it is. `subject` changes
    only before the first publication (409 after)."""
    return await templates.update_template(session, manager, template_id, body)


@templates_router.post(
    "/{template_id}/publish",
    name="form-templates:publish",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def publish_template(
    session: DbSession, manager: TemplateManager, template_id: TemplateId
) -> TemplateRead:
    """Freezes the latest version, which submissions are filled against from now on (needs
    `check:templates:manage`); a public template gets its link token. 409 when the latest version is
    published already; 422 when a public template, or one about no site (`subject` `none`), holds a
    ticket element."""
    return await templates.publish_template(session, manager, template_id)


@templates_router.delete(
    "/{template_id}",
    name="form-templates:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_template(session: DbSession, manager: TemplateManager, template_id: TemplateId) -> None:
    """Deletes a template with all its versions (needs `check:templates:manage`); refused with 409 once
    the template has submissions."""
    await templates.delete_template(session, template_id)


submissions_router = APIRouter(prefix="/form-submissions", tags=["form-submissions"])


@submissions_router.get("", name="form-submissions:list", responses=problem_responses(401, 403, 422))
async def list_submissions(
    session: DbSession,
    employee: CurrentEmployee,
    page: Pagination,
    template_id: Annotated[uuid.UUID | None, Query(description="Only submissions of this template.")] = None,
    site_id: Annotated[uuid.UUID | None, Query(description="Only submissions for this site.")] = None,
) -> Page[SubmissionRead]:
    """Form submissions, newest first, for employees: those for their tenants' sites (administrators:
    all). Submissions through a public link belong to no site: administrators and template managers
    see them. Submissions of templates about no site (`subject` `none`: training records,
    questionnaires) are seen by their author and template managers only. Customer users: 403 (their
    inspection reports are `GET /sites/{site_id}/reports`)."""
    return await submissions.list_submissions(session, employee, page, template_id, site_id)


@submissions_router.post(
    "",
    name="form-submissions:create",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses("The new submission (`GET /form-submissions/{submission_id}`)."),
        **problem_responses(401, 403, 404, 422, 429, 503),
    },
)
async def create_submission(
    ctx: Ctx,
    session: DbSession,
    employee: CurrentEmployee,
    body: SubmissionCreate,
    request: Request,
    response: Response,
) -> SubmissionRead:
    """Starts filling in a form at a site of the caller's tenants (employees), or about no site for a
    template whose `subject` is `none` (then without `site_id`; 422 either way round), against the
    template's published version; the answers are checked as far as given. With `complete: true` it
    is completed at once (see `POST /form-submissions/{submission_id}/complete`). Photos and signatures name
    images the caller uploaded with `POST /uploads`."""
    submission = await submissions.create_submission(ctx, session, employee, body)
    response.headers["Location"] = location(request, "form-submissions:read", submission_id=submission.id)
    return await submissions.read_submission(session, submission)


@submissions_router.get(
    "/{submission_id}", name="form-submissions:read", responses=problem_responses(401, 403, 404, 422)
)
async def read_submission(
    session: DbSession, employee: CurrentEmployee, submission_id: SubmissionId
) -> SubmissionRead:
    """One form submission the caller sees (see `GET /form-submissions`)."""
    return await submissions.read_submission(
        session, await submissions.get_submission(session, employee, submission_id)
    )


@submissions_router.patch(
    "/{submission_id}", name="form-submissions:update", responses=problem_responses(401, 403, 404, 409, 422)
)
async def update_submission(
    session: DbSession, employee: CurrentEmployee, submission_id: SubmissionId, body: SubmissionUpdate
) -> SubmissionRead:
    """Changes a draft: only the person filling it in (403 for others), only while a draft (409 once
    completed)."""
    submission = await submissions.update_submission(session, employee, submission_id, body)
    return await submissions.read_submission(session, submission)


@submissions_router.post(
    "/{submission_id}/complete",
    name="form-submissions:complete",
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def complete_submission(
    ctx: Ctx, session: DbSession, employee: CurrentEmployee, submission_id: SubmissionId
) -> SubmissionRead:
    """Completes a draft (only the person filling it in): required answers are enforced now (422).
    Atomic and once: every visible, answered ticket element raises one ticket on the submission's site,
    with the filled form attached as PDF where the element says so. Completing again answers the same.
    The PDF is rendered now, once, and kept; while too many renders run, 503 (429 while the caller's own
    runs) with `Retry-After`, and nothing is completed. A submission without a site (its template's
    `subject` is `none`) raises no tickets and no `form_submission.completed` webhook event, which
    concerns a site.
    """
    submission = await submissions.complete_submission(ctx, session, employee, submission_id)
    return await submissions.read_submission(session, submission)


# The PDF is the one part of a submission customer users may read (as a report), so its route has
# its own token rule: `forms:read`, or `tickets:read` for a customer user (see `app`).
submission_pdf_router = APIRouter(prefix="/form-submissions", tags=["form-submissions"])


@submission_pdf_router.get(
    "/{submission_id}/pdf",
    name="form-submissions:pdf",
    response_class=Response,
    responses={
        **problem_responses(401, 403, 404, 422, 429, 503),
        200: {"content": binary_content("application/pdf")},
    },
)
async def submission_pdf(
    ctx: Ctx, session: DbSession, principal: CurrentPrincipal, submission_id: SubmissionId, request: Request
) -> Response:
    """The filled form as PDF, for every employee who sees the submission, and for customer users
    when it is one of their inspection reports (`GET /sites/{site_id}/reports`: completed, on one of
    their sites, of a template in their customer's `report_template_ids`; 404 otherwise). A completed
    submission: the PDF stored at completion, as it was then. A draft: rendered now; while too many
    renders run, 503 (or 429 while the caller's own render runs) with `Retry-After`. Labelled
    `application/octet-stream` for a client whose `Accept` prefers that."""
    accept = request.headers.get("accept")
    document = await submissions.submission_pdf(ctx, session, principal, submission_id)
    if document.storage_key is not None:
        return await stored_file(
            ctx.storage,
            document.storage_key,
            filename=document.filename,
            content_type="application/pdf",
            size=document.size,
            accept=accept,
        )
    assert document.data is not None
    label = sent_as(accept, "application/pdf")
    return Response(
        document.data, media_type=label, headers=download_headers(document.filename, label, document.size)
    )


reports_router = APIRouter(prefix="/sites", tags=["reports"])

SiteId = Annotated[uuid.UUID, Path(description="The site's id; 404 when the caller does not see it.")]


@reports_router.get("/{site_id}/reports", name="reports:list", responses=problem_responses(401, 404, 422))
async def list_site_reports(
    session: DbSession, principal: CurrentPrincipal, site_id: SiteId, page: Pagination
) -> Page[ReportRead]:
    """The site's inspection reports: completed form submissions on it of the templates its customer
    chose (`report_template_ids` of the ticket settings), newest completion first; download each as
    PDF through `GET /form-submissions/{submission_id}/pdf`. For everyone who sees the site: employees
    of its tenant, customer users it is assigned to (404 for others). `ticket_ids` names only the
    raised tickets the caller sees."""
    return await reports.list_site_reports(session, principal, site_id, page)


public_router = APIRouter(prefix="/public/forms", tags=["public-forms"], dependencies=[Public])


@public_router.get(
    "/{token}",
    name="public-forms:read",
    dependencies=[per_client("public-forms:read", lambda settings: settings.public_form_reads_per_minute)],
    responses={**problem_responses(404, 422), **retry_after_responses(429)},
)
async def read_public_form(session: DbSession, token: Token) -> PublicForm:
    """A published public form, for anyone with the link (no login). Limited per client address (429
    beyond)."""
    return await public.public_form(session, token)


@public_router.post(
    "/{token}/submissions",
    name="public-forms:submit",
    status_code=status.HTTP_201_CREATED,
    dependencies=[
        per_client("public-forms:submit", lambda settings: settings.public_form_submissions_per_minute)
    ],
    responses={
        **created_responses("The submission as employees read it (`GET /form-submissions/{submission_id}`)."),
        **problem_responses(404, 422),
        **retry_after_responses(429),
    },
)
async def submit_public_form(
    session: DbSession, token: Token, body: PublicSubmissionCreate, request: Request, response: Response
) -> PublicSubmissionRead:
    """Submits answers to a published public form, for anyone with the link (no login): checked like an
    employee's, completed at once; never raises tickets; photos and signatures cannot be answered.
    Limited per client address (429 beyond)."""
    submission = await public.public_submission(session, token, body)
    assert submission.completed_at is not None
    response.headers["Location"] = location(request, "form-submissions:read", submission_id=submission.id)
    return PublicSubmissionRead(id=submission.id, status="completed", completed_at=submission.completed_at)
