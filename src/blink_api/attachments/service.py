"""Attachments as the API serves them: which ones a caller may reach, listing a ticket's, deleting,
renaming and replacing their content."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.attachments import policy
from blink_api.attachments import repository as repo
from blink_api.files import service as files
from blink_api.files.models import Attachment
from blink_api.files.schemas import AttachmentRead
from blink_api.files.service import CheckedFile
from blink_api.identity.principals import Principal, ensure
from blink_api.kit.errors import Conflict, Forbidden, NotFound
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.storage import Storage
from blink_api.tickets import service as tickets


async def list_for_ticket(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, page: PageParams
) -> Page[AttachmentRead]:
    """The ticket's attachments; an unknown ticket, or one outside the caller's scope, answers 404."""
    await tickets.get_ticket(session, principal, ticket_id)
    stmt = repo.of_ticket(principal, ticket_id)
    rows, cursor = await paginate(session, stmt, page, created_at=Attachment.created_at, id_=Attachment.id)
    return Page[AttachmentRead](items=[AttachmentRead.model_validate(a) for a in rows], next_cursor=cursor)


async def get_attachment(
    session: AsyncSession, principal: Principal, attachment_id: uuid.UUID, *, for_update: bool = False
) -> Attachment:
    stmt = repo.attachment_by_id(principal, attachment_id)
    if for_update:
        stmt = stmt.with_for_update(of=Attachment).execution_options(populate_existing=True)
    attachment = (await session.scalars(stmt)).first()
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


async def editable_attachment(
    session: AsyncSession, principal: Principal, attachment_id: uuid.UUID
) -> Attachment:
    """The attachment its uploader may rename or replace, its row locked until the transaction ends
    (two replacements one after the other: the second one replaces, and removes, the first one's
    file). 404 when not visible, 403 for anyone but its uploader and for a ticket the uploader no
    longer sees, 409 for a file that is not a ticket's attachment."""
    attachment = await get_attachment(session, principal, attachment_id, for_update=True)
    ensure(policy.why_not_edit(principal, attachment))
    if (reason := policy.why_not_edit_kind(attachment)) is not None:
        raise Conflict(reason)
    assert attachment.ticket_id is not None
    try:
        await tickets.get_ticket(session, principal, attachment.ticket_id)
    except NotFound:
        # Seen as a site document only: the ticket it belongs to is no longer the uploader's business.
        raise Forbidden("You no longer see the ticket this file is on.") from None
    return attachment


async def rename_attachment(
    session: AsyncSession, principal: Principal, attachment_id: uuid.UUID, filename: str
) -> Attachment:
    """A new name (already cleaned), in the ticket's history; the same name again changes nothing."""
    attachment = await editable_attachment(session, principal, attachment_id)
    if filename != attachment.filename:
        old = {"filename": attachment.filename}
        attachment.filename = filename
        tickets.record_attachment_edit(session, principal.id, attachment, "attachment_renamed", old)
        await session.flush()
    return attachment


async def replace_content(
    session: AsyncSession, storage: Storage, principal: Principal, attachment: Attachment, file: CheckedFile
) -> str:
    """The checked `file` becomes the content of `attachment` (from `editable_attachment`), in the
    ticket's history. Returns the previous object's key, to be removed once the change is committed."""
    old = {"filename": attachment.filename, "content_type": attachment.content_type, "size": attachment.size}
    previous = await files.replace_content(session, storage, attachment, file)
    tickets.record_attachment_edit(session, principal.id, attachment, "attachment_replaced", old)
    await session.flush()
    return previous
