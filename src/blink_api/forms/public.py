"""Public form links: a published public template read and filled in by anyone with its token."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.forms import elements as el
from blink_api.forms import repository as repo
from blink_api.forms.models import FormSubmission, FormTemplate, FormTemplateVersion
from blink_api.forms.schemas import PublicForm, PublicSubmissionCreate
from blink_api.kit.errors import Invalid, NotFound
from blink_api.notifications.events import Event, publish


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
        elements=el.parse_elements(version.elements),
    )


async def public_submission(
    session: AsyncSession, token: str, body: PublicSubmissionCreate
) -> FormSubmission:
    """Filled in without a login; completed at once and never raises tickets (public forms have none)."""
    template, version = await _public_version(session, token)
    elements = el.parse_elements(version.elements)
    answers = el.check_answers(elements, body.answers, complete=True)
    for element in elements:
        if element.type in ("photo", "signature") and element.key in answers:
            raise Invalid.at(
                ["body", "answers", element.key], "Photos and signatures need a login to upload."
            )
    submission = FormSubmission(
        template_id=template.id,
        subject=template.subject,
        template_version_id=version.id,
        site_id=None,
        created_by_id=None,
        status="completed",
        answers=answers,
        completed_at=dt.datetime.now(dt.UTC),
    )
    session.add(submission)
    await session.flush()
    await publish(session, Event("form_submission.completed", None, submission))
    return submission
