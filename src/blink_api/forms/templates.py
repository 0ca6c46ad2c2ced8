"""Form templates and their versions: drafts that change in place, published versions that never do."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.forms import elements as el
from blink_api.forms import policy
from blink_api.forms import repository as repo
from blink_api.forms.models import FormTemplate, FormTemplateVersion
from blink_api.forms.schemas import TemplateCreate, TemplateRead, TemplateUpdate
from blink_api.identity.principals import EmployeePrincipal, Principal
from blink_api.kit.errors import Conflict, FieldError, Invalid, NotFound
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.rows import delete_or_409, one_or_404
from blink_api.ticket_types.models import TicketCategory, TicketType
from blink_api.ticket_types.repository import visible_ticket_types


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
        subject=template.subject,  # type: ignore[arg-type]
        elements=el.parse_elements(version.elements),
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
    el.check_template(body.elements, is_public=body.is_public, subject=body.subject)
    await _check_ticket_types(session, principal, body.elements)
    template = FormTemplate(created_by_id=principal.id, latest_version=1, subject=body.subject)
    session.add(template)
    await session.flush()
    version = FormTemplateVersion(
        template_id=template.id,
        version=1,
        name=body.name,
        description=body.description,
        is_public=body.is_public,
        elements=el.dump_elements(body.elements),
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
    for field in ("name", "is_public", "subject", "elements"):
        if field in sent and sent[field] is None:
            raise Invalid.at(["body", field], "This field cannot be null.")
    new_elements = body.elements if "elements" in sent else el.parse_elements(latest.elements)
    is_public = sent.get("is_public", latest.is_public)
    subject = sent.get("subject", template.subject)
    if (reason := policy.why_not_change_subject(template, subject)) is not None:
        raise Conflict(reason)
    el.check_template(new_elements, is_public=is_public, subject=subject)
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
    latest.elements = el.dump_elements(new_elements)
    template.subject = subject
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
    elements = el.parse_elements(latest.elements)
    el.check_template(elements, is_public=latest.is_public, subject=template.subject)
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
