"""Attachments as the API serves them: which ones a caller may reach, listing a ticket's, deleting."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.attachments import policy
from blink_api.attachments import repository as repo
from blink_api.files.models import Attachment
from blink_api.files.schemas import AttachmentRead
from blink_api.identity.principals import Principal, ensure
from blink_api.kit.errors import Conflict, NotFound
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.tickets import service as tickets


async def list_for_ticket(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, page: PageParams
) -> Page[AttachmentRead]:
    """The ticket's attachments; an unknown ticket, or one outside the caller's scope, answers 404."""
    await tickets.get_ticket(session, principal, ticket_id)
    stmt = repo.of_ticket(principal, ticket_id)
    rows, cursor = await paginate(session, stmt, page, created_at=Attachment.created_at, id_=Attachment.id)
    return Page[AttachmentRead](items=[AttachmentRead.model_validate(a) for a in rows], next_cursor=cursor)


async def get_attachment(session: AsyncSession, principal: Principal, attachment_id: uuid.UUID) -> Attachment:
    attachment = (await session.scalars(repo.attachment_by_id(principal, attachment_id))).first()
    if attachment is None:
        raise NotFound("Attachment not found.")
    return attachment


async def delete_attachment(session: AsyncSession, principal: Principal, attachment_id: uuid.UUID) -> str:
    """Delete the row; returns the storage key, to be removed once the transaction has committed."""
    attachment = await get_attachment(session, principal, attachment_id)
    ensure(policy.why_not_delete(principal, attachment))
    if attachment.form_submission_id is not None:
        # Locked like completion locks it: a deletion and a completion never interleave.
        status = await repo.lock_submission_status(session, attachment.form_submission_id)
        if (reason := policy.why_not_change_submission(status)) is not None:
            raise Conflict(reason)
        ensure(policy.why_not_delete_submission_file(principal, attachment))
    if attachment.ticket_id is not None:
        tickets.record_attachment(session, principal.id, attachment, "attachment_deleted")
    await session.delete(attachment)
    await session.flush()
    return attachment.storage_key
