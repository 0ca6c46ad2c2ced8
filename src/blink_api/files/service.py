"""Uploads checked before anything is stored (size, sniffed type, image size), images normalised, and
bytes stored under generated keys with their attachment rows. Who may see a file is decided above:
in `tickets` for what hangs on a ticket, in `attachments` for a file on its own."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import UploadFile
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.files import images, sniffing
from blink_api.files.models import Attachment
from blink_api.identity.principals import Principal
from blink_api.kit.context import AppContext
from blink_api.kit.db import on_rollback
from blink_api.kit.errors import Invalid, PayloadTooLarge, UnsupportedMediaType
from blink_api.kit.storage import CHUNK, Storage

MAX_FILES_PER_REQUEST = 20
KEY_PREFIX = "attachments"


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


async def check_files(
    ctx: AppContext, principal: Principal, files: list[UploadFile], *, field: str = "files"
) -> list[CheckedFile]:
    """Every file checked before any is stored: size, sniffed type against the allow-list, image size.
    Images are then normalised (see `images`), in the caller's turn for renders: what is stored, and
    its size and digest, is the bounded copy. `field` is the form field the files came in."""
    max_bytes = ctx.settings.max_upload_bytes
    if not files:
        raise Invalid.at(["body", field], "Send at least one file.")
    if len(files) > MAX_FILES_PER_REQUEST:
        raise Invalid.at(["body", field], f"At most {MAX_FILES_PER_REQUEST} files per request.")
    checked = []
    for index, upload in enumerate(files):
        name = sniffing.display_name(upload.filename)
        size, sha256 = await _size_and_digest(upload)
        if size > max_bytes:
            raise PayloadTooLarge(f"'{name}' is larger than the {max_bytes} bytes allowed per file.")
        if size == 0:
            raise Invalid.at(["body", field, index], f"'{name}' is empty.")
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
    files: list[CheckedFile],
    *,
    ticket_id: uuid.UUID | None = None,
) -> list[Attachment]:
    """Store checked uploads; their rows name `ticket_id` (None: unattached, seen by the uploader)."""
    attachments = []
    for file in files:
        key = await _put_upload(session, storage, file)
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
    return attachments


async def _put_upload(session: AsyncSession, storage: Storage, file: CheckedFile) -> str:
    """Store a checked upload under a new key, removed again if the transaction does not commit."""
    key = f"{KEY_PREFIX}/{uuid.uuid4()}"
    await storage.put(key, _chunks(file.upload))
    on_rollback(session, lambda: _discard_unless_named(session, storage, key))
    return key


async def _discard_unless_named(session: AsyncSession, storage: Storage, key: str) -> None:
    """After a rollback: remove the object unless a row names it after all (a commit whose answer was
    lost may have succeeded; a file missing under a row is worse than a stray object)."""
    named = await session.scalar(select(Attachment.id).where(Attachment.storage_key == key))
    await session.rollback()
    if named is None:
        await storage.delete(key)


async def replace_content(
    session: AsyncSession, storage: Storage, attachment: Attachment, file: CheckedFile
) -> str:
    """Point `attachment` (its row locked by the caller) to a newly stored copy of `file`: name, type,
    size and digest follow it. Returns the previous object's key, to be removed only once the change is
    committed; until then, and for good if it is not, the previous object stays where it was."""
    previous = attachment.storage_key
    attachment.storage_key = await _put_upload(session, storage, file)
    attachment.filename = file.filename
    attachment.content_type = file.content_type
    attachment.size = file.size
    attachment.sha256 = file.sha256
    await session.flush()
    return previous


async def put_bytes(storage: Storage, prefix: str, data: bytes) -> str:
    """Store bytes made here (not uploaded) under a generated key in `prefix`; returns the key."""
    key = f"{prefix}/{uuid.uuid4()}"

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    await storage.put(key, chunks())
    return key


async def store_document(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    *,
    ticket_id: uuid.UUID,
    filename: str,
    content_type: str,
    data: bytes,
) -> Attachment:
    """Store a file made here (a rendered form) as an attachment of `ticket_id`."""
    key = await put_bytes(storage, KEY_PREFIX, data)
    on_rollback(session, lambda: _discard_unless_named(session, storage, key))
    attachment = Attachment(
        ticket_id=ticket_id,
        filename=sniffing.display_name(filename, path=False),
        content_type=content_type,
        size=len(data),
        storage_key=key,
        sha256=hashlib.sha256(data).hexdigest(),
        created_by=principal.id,
    )
    session.add(attachment)
    await session.flush()
    return attachment


def upload_fingerprint(files: list[CheckedFile]) -> list[str]:
    return [f"{f.filename}:{f.sha256}" for f in files]
