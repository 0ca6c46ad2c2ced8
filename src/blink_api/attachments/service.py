"""Checking, storing, listing, serving and deleting attachments."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.attachments import images, sniffing
from blink_api.attachments import repository as repo
from blink_api.attachments.models import Attachment
from blink_api.attachments.schemas import AttachmentRead
from blink_api.identity.principals import CustomerUserPrincipal, Principal
from blink_api.kit.context import AppContext
from blink_api.kit.errors import Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge, UnsupportedMediaType
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.storage import CHUNK, Storage
from blink_api.tickets import repository as ticket_repo

MAX_FILES_PER_REQUEST = 20


@dataclass
class CheckedFile:
    upload: UploadFile
    filename: str
    content_type: str
    size: int
    sha256: str


async def _size_and_digest(upload: UploadFile) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    await upload.seek(0)
    while chunk := await upload.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    await upload.seek(0)
    return size, digest.hexdigest()


async def check_files(ctx: AppContext, principal: Principal, files: list[UploadFile]) -> list[CheckedFile]:
    """Every file checked before any is stored: size, sniffed type against the allow-list, image size.
    Images are then normalised (see `images`), in the caller's turn for renders: what is stored, and
    its size and digest, is the bounded copy."""
    max_bytes = ctx.settings.max_upload_bytes
    if not files:
        raise Invalid.at(["body", "files"], "Send at least one file.")
    if len(files) > MAX_FILES_PER_REQUEST:
        raise Invalid.at(["body", "files"], f"At most {MAX_FILES_PER_REQUEST} files per request.")
    checked = []
    for index, upload in enumerate(files):
        name = sniffing.display_name(upload.filename)
        size, sha256 = await _size_and_digest(upload)
        if size > max_bytes:
            raise PayloadTooLarge(f"'{name}' is larger than the {max_bytes} bytes allowed per file.")
        if size == 0:
            raise Invalid.at(["body", "files", index], f"'{name}' is empty.")
        head = await upload.read(sniffing.HEAD_BYTES)
        await upload.seek(0)
        content_type = sniffing.sniff(head, name)
        if content_type not in sniffing.ALLOWED_TYPES:
            raise UnsupportedMediaType(
                f"'{name}' is {content_type}; allowed are images, PDF, office documents and text."
            )
        if content_type in sniffing.IMAGE_TYPES:
            pixels = sniffing.image_pixels(upload.file)
            if pixels is None:
                raise UnsupportedMediaType(f"'{name}' is not a readable image.")
            if pixels > sniffing.MAX_IMAGE_PIXELS:
                raise PayloadTooLarge(f"'{name}' has more than {sniffing.MAX_IMAGE_PIXELS} pixels.")
        checked.append(CheckedFile(upload, name, content_type, size, sha256))
    for file in checked:
        if file.content_type in sniffing.IMAGE_TYPES:
            await _normalise(ctx, principal, file)
    return checked


async def _normalise(ctx: AppContext, principal: Principal, file: CheckedFile) -> None:
    try:
        image = await ctx.renders.run(principal.id, images.normalise, file.upload.file, file.content_type)
    except images.UnreadableImage as exc:
        raise UnsupportedMediaType(f"'{file.filename}' is not a readable image.") from exc
    file.upload = UploadFile(image.file, size=image.size, filename=file.filename)
    file.size, file.sha256 = image.size, image.sha256


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    await upload.seek(0)
    while chunk := await upload.read(CHUNK):
        yield chunk


async def store_files(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    ticket_id: uuid.UUID | None,
    files: list[CheckedFile],
) -> list[Attachment]:
    attachments = []
    for file in files:
        key = f"attachments/{uuid.uuid4()}"
        await storage.put(key, _chunks(file.upload))
        attachment = Attachment(
            ticket_id=ticket_id,
            filename=file.filename,
            content_type=file.content_type,
            size=file.size,
            storage_key=key,
            sha256=file.sha256,
            created_by=principal.id,
        )
        session.add(attachment)
        attachments.append(attachment)
    await session.flush()
    if ticket_id is not None:
        for attachment in attachments:
            ticket_repo.add_event(
                session,
                ticket_id,
                principal.id,
                "attachment_added",
                field="attachment",
                new={"id": str(attachment.id), "filename": attachment.filename},
                public=True,
            )
        await session.flush()
    return attachments


async def list_for_ticket(
    session: AsyncSession, ticket_id: uuid.UUID, page: PageParams
) -> Page[AttachmentRead]:
    rows, cursor = await paginate(
        session, repo.of_ticket(ticket_id), page, created_at=Attachment.created_at, id_=Attachment.id
    )
    return Page[AttachmentRead](items=[AttachmentRead.model_validate(a) for a in rows], next_cursor=cursor)


async def get_attachment(session: AsyncSession, principal: Principal, attachment_id: uuid.UUID) -> Attachment:
    attachment = (await session.scalars(repo.attachment_by_id(principal, attachment_id))).first()
    if attachment is None:
        raise NotFound("Attachment not found.")
    return attachment


async def delete_attachment(session: AsyncSession, principal: Principal, attachment_id: uuid.UUID) -> str:
    """Delete the row; returns the storage key, to be removed once the transaction has committed."""
    attachment = await get_attachment(session, principal, attachment_id)
    if isinstance(principal, CustomerUserPrincipal) and attachment.created_by != principal.id:
        raise Forbidden("Customer users can delete only the attachments they added.")
    if attachment.form_submission_id is not None:
        # Locked like completion locks it: a deletion and a completion never interleave.
        status = await repo.lock_submission_status(session, attachment.form_submission_id)
        if status == "completed":
            raise Conflict(
                "The file is a photo or signature of a completed form submission, which no longer changes."
            )
        if attachment.created_by != principal.id:
            raise Forbidden("Only the person filling in the form can remove its photos and signatures.")
    if attachment.ticket_id is not None:
        ticket_repo.add_event(
            session,
            attachment.ticket_id,
            principal.id,
            "attachment_deleted",
            field="attachment",
            old={"id": str(attachment.id), "filename": attachment.filename},
            public=True,
        )
    await session.delete(attachment)
    await session.flush()
    return attachment.storage_key


def upload_fingerprint(files: list[CheckedFile]) -> list[str]:
    return [f"{f.filename}:{f.sha256}" for f in files]
