"""HTTP endpoints of single attachments: download and delete."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Response, UploadFile, status
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from blink_api.attachments import service
from blink_api.attachments.schemas import AttachmentList, AttachmentRead
from blink_api.attachments.sniffing import ALLOWED_TYPES, INLINE_TYPES, display_name
from blink_api.identity.dependencies import CurrentEmployee, CurrentPrincipal
from blink_api.kit.context import Ctx
from blink_api.kit.db import DbSession
from blink_api.kit.errors import NotFound, problem_responses
from blink_api.kit.storage import ObjectMissing, Storage

router = APIRouter(prefix="/attachments", tags=["attachments"])
uploads_router = APIRouter(prefix="/uploads", tags=["uploads"])


@uploads_router.post(
    "",
    name="uploads:create",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 413, 415, 422, 429, 503),
)
async def upload(
    ctx: Ctx,
    session: DbSession,
    principal: CurrentEmployee,
    files: Annotated[list[UploadFile], File(description="One or more files.")],
) -> AttachmentList:
    """Files to reference afterwards, such as form photos and signatures (employees only): the same
    checks as ticket attachments; only the uploader sees them until they are used. Images are stored
    normalised: at most 2048 pixels on the longer side, upright, re-encoded in their format without
    metadata; `size` is that of the stored image."""
    checked = await service.check_files(ctx, principal, files)
    stored = await service.store_files(session, ctx.storage, principal, None, checked)
    return AttachmentList(items=[AttachmentRead.model_validate(a) for a in stored])


# What a download may be sent as: the types uploads are accepted as (the type sniffed at upload).
DOWNLOAD_TYPES = {t: {"schema": {"type": "string", "format": "binary"}} for t in sorted(ALLOWED_TYPES)}


def content_disposition(filename: str, content_type: str) -> str:
    """Always one safe header line: the name is cleaned like an upload's (whatever it was stored as),
    offered as ASCII and, per RFC 6266 and RFC 5987, exactly as UTF-8 in `filename*`."""
    kind = "inline" if content_type in INLINE_TYPES else "attachment"
    name = display_name(filename, path=False, fallback="download")
    fallback = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def stored_file(
    storage: Storage, key: str, *, filename: str, content_type: str, size: int
) -> StreamingResponse:
    """A stored object streamed back with the headers every download carries. A missing object
    answers 404 before the response starts."""
    chunks = storage.read(key)
    try:
        first = await anext(chunks, b"")
    except ObjectMissing as exc:
        raise NotFound("The file is missing from storage.") from exc

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(
        body(), media_type=content_type, headers=download_headers(filename, content_type, size)
    )


def download_headers(filename: str, content_type: str, size: int) -> dict[str, str]:
    """What every download carries: a safe name, its length, and no sniffing, scripts or caching."""
    return {
        "Content-Disposition": content_disposition(filename, content_type),
        "Content-Length": str(size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, no-store",
    }


@router.get(
    "/{attachment_id}/content",
    name="attachments:content",
    response_class=StreamingResponse,
    responses={**problem_responses(401, 404, 422), 200: {"content": DOWNLOAD_TYPES}},
)
async def download(
    ctx: Ctx, session: DbSession, principal: CurrentPrincipal, attachment_id: uuid.UUID
) -> Response:
    """The stored bytes, with the sniffed type; inline only for images and PDF."""
    attachment = await service.get_attachment(session, principal, attachment_id)
    return await stored_file(
        ctx.storage,
        attachment.storage_key,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
    )


@router.delete(
    "/{attachment_id}",
    name="attachments:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete(
    ctx: Ctx, session: DbSession, principal: CurrentPrincipal, attachment_id: uuid.UUID
) -> Response:
    """Customer users delete only their own. Photos and signatures of a form submission: only its
    filler, only while it is a draft (409 once completed). The stored object goes once the deletion is
    committed."""
    key = await service.delete_attachment(session, principal, attachment_id)
    return Response(status_code=204, background=BackgroundTask(ctx.storage.delete, key))
