"""HTTP endpoints of form templates, submissions and public form links."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from blink_api.files.downloads import download_headers, stored_file
from blink_api.forms import public, submissions, templates
from blink_api.forms.schemas import (
    PublicForm,
    PublicSubmissionCreate,
    PublicSubmissionRead,
    PublicToken,
    SubmissionCreate,
    SubmissionRead,
    SubmissionUpdate,
    TemplateCreate,
    TemplateRead,
    TemplateUpdate,
)
from blink_api.identity.dependencies import CurrentEmployee, Public, TemplateManager
from blink_api.kit.context import Ctx
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination
from blink_api.kit.ratelimit import per_client, retry_after_responses

templates_router = APIRouter(prefix="/form-templates", tags=["form-templates"])


@templates_router.get("", name="form-templates:list", responses=problem_responses(401, 403, 422))
async def list_templates(
    session: DbSession, employee: CurrentEmployee, page: Pagination
) -> Page[TemplateRead]:
    """Template managers see drafts too; other employees the published versions."""
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
    session: DbSession, employee: CurrentEmployee, template_id: uuid.UUID
) -> TemplateRead:
    return await templates.get_template(session, employee, template_id)


@templates_router.put(
    "/{template_id}", name="form-templates:replace", responses=problem_responses(401, 403, 404, 422)
)
async def replace_template(
    session: DbSession, manager: TemplateManager, template_id: uuid.UUID, body: TemplateCreate
) -> TemplateRead:
    """Replaces the draft; when the latest version is published, this becomes the next version."""
    return await templates.update_template(session, manager, template_id, body)


@templates_router.patch(
    "/{template_id}", name="form-templates:update", responses=problem_responses(401, 403, 404, 422)
)
async def update_template(
    session: DbSession, manager: TemplateManager, template_id: uuid.UUID, body: TemplateUpdate
) -> TemplateRead:
    """Changes the draft; when the latest version is published, this becomes the next version."""
    return await templates.update_template(session, manager, template_id, body)


@templates_router.post(
    "/{template_id}/publish",
    name="form-templates:publish",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def publish_template(
    session: DbSession, manager: TemplateManager, template_id: uuid.UUID
) -> TemplateRead:
    """Freezes the latest version, which submissions are filled against; a public template gets its link."""
    return await templates.publish_template(session, manager, template_id)


@templates_router.delete(
    "/{template_id}",
    name="form-templates:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_template(session: DbSession, manager: TemplateManager, template_id: uuid.UUID) -> None:
    """Refused with 409 once the template has submissions."""
    await templates.delete_template(session, template_id)


submissions_router = APIRouter(prefix="/form-submissions", tags=["form-submissions"])


@submissions_router.get("", name="form-submissions:list", responses=problem_responses(401, 403, 422))
async def list_submissions(
    session: DbSession,
    employee: CurrentEmployee,
    page: Pagination,
    template_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
) -> Page[SubmissionRead]:
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
    """Filled against the template's published version. With `complete: true` it is completed at once
    (see `complete`)."""
    submission = await submissions.create_submission(ctx, session, employee, body)
    response.headers["Location"] = location(request, "form-submissions:read", submission_id=submission.id)
    return await submissions.read_submission(session, submission)


@submissions_router.get(
    "/{submission_id}", name="form-submissions:read", responses=problem_responses(401, 403, 404, 422)
)
async def read_submission(
    session: DbSession, employee: CurrentEmployee, submission_id: uuid.UUID
) -> SubmissionRead:
    return await submissions.read_submission(
        session, await submissions.get_submission(session, employee, submission_id)
    )


@submissions_router.patch(
    "/{submission_id}", name="form-submissions:update", responses=problem_responses(401, 403, 404, 409, 422)
)
async def update_submission(
    session: DbSession, employee: CurrentEmployee, submission_id: uuid.UUID, body: SubmissionUpdate
) -> SubmissionRead:
    """While a draft, by the person filling it in."""
    submission = await submissions.update_submission(session, employee, submission_id, body)
    return await submissions.read_submission(session, submission)


@submissions_router.post(
    "/{submission_id}/complete",
    name="form-submissions:complete",
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def complete_submission(
    ctx: Ctx, session: DbSession, employee: CurrentEmployee, submission_id: uuid.UUID
) -> SubmissionRead:
    """Atomic and once: every visible, answered ticket element raises one ticket on the submission's site,
    with the filled form attached as PDF where the element says so. Completing again answers the same.
    The PDF is rendered now, once, and kept; while too many renders run, 503 (429 while the caller's own
    runs) with `Retry-After`, and nothing is completed."""
    submission = await submissions.complete_submission(ctx, session, employee, submission_id)
    return await submissions.read_submission(session, submission)


@submissions_router.get(
    "/{submission_id}/pdf",
    name="form-submissions:pdf",
    response_class=Response,
    responses={
        **problem_responses(401, 403, 404, 422, 429, 503),
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
    },
)
async def submission_pdf(
    ctx: Ctx, session: DbSession, employee: CurrentEmployee, submission_id: uuid.UUID
) -> Response:
    """A completed submission: the PDF stored at completion, as it was then. A draft: rendered now;
    while too many renders run, 503 (or 429 while the caller's own render runs) with `Retry-After`."""
    document = await submissions.submission_pdf(ctx, session, employee, submission_id)
    if document.storage_key is not None:
        return await stored_file(
            ctx.storage,
            document.storage_key,
            filename=document.filename,
            content_type="application/pdf",
            size=document.size,
        )
    assert document.data is not None
    return Response(
        document.data,
        media_type="application/pdf",
        headers=download_headers(document.filename, "application/pdf", document.size),
    )


public_router = APIRouter(prefix="/public/forms", tags=["public-forms"], dependencies=[Public])


@public_router.get(
    "/{token}",
    name="public-forms:read",
    dependencies=[per_client("public-forms:read", lambda settings: settings.public_form_reads_per_minute)],
    responses={**problem_responses(404, 422), **retry_after_responses(429)},
)
async def read_public_form(session: DbSession, token: PublicToken) -> PublicForm:
    """A published public form, for anyone with the link. Limited per client address (429 beyond)."""
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
    session: DbSession, token: PublicToken, body: PublicSubmissionCreate, request: Request, response: Response
) -> PublicSubmissionRead:
    """Completed at once; never raises tickets. Limited per client address (429 beyond)."""
    submission = await public.public_submission(session, token, body)
    assert submission.completed_at is not None
    response.headers["Location"] = location(request, "form-submissions:read", submission_id=submission.id)
    return PublicSubmissionRead(id=submission.id, status="completed", completed_at=submission.completed_at)
