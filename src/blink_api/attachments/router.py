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
from blink_api.attachments.sniffing import INLINE_TYPES
from blink_api.context import Ctx
from blink_api.db import DbSession
from blink_api.errors import NotFound, problem_responses
from blink_api.identity.dependencies import CurrentEmployee, CurrentPrincipal
from blink_api.storage import ObjectMissing

router = APIRouter(prefix="/attachments", tags=["attachments"])
uploads_router = APIRouter(prefix="/uploads", tags=["uploads"])


@uploads_router.post(
    "",
    name="uploads:create",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 413, 415, 422),
)
async def upload(
    ctx: Ctx,
    session: DbSession,
    principal: CurrentEmployee,
    files: Annotated[list[UploadFile], File(description="One or more files.")],
) -> AttachmentList:
    """Files to reference afterwards, such as form photos and signatures (employees only): the same
    checks as ticket attachments; only the uploader sees them until they are used."""
    checked = await service.check_files(files, ctx.settings.max_upload_bytes)
    stored = await service.store_files(session, ctx.storage, principal, None, checked)
    return AttachmentList(items=[AttachmentRead.model_validate(a) for a in stored])


def content_disposition(filename: str, content_type: str) -> str:
    kind = "inline" if content_type in INLINE_TYPES else "attachment"
    fallback = filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get(
    "/{attachment_id}/content",
    name="attachments:content",
    response_class=StreamingResponse,
    responses={**problem_responses(401, 404, 422), 200: {"content": {"application/octet-stream": {}}}},
)
async def download(
    ctx: Ctx, session: DbSession, principal: CurrentPrincipal, attachment_id: uuid.UUID
) -> Response:
    """The stored bytes, with the sniffed type; inline only for images and PDF."""
    attachment = await service.get_attachment(session, principal, attachment_id)
    chunks = ctx.storage.read(attachment.storage_key)
    try:
        first = await anext(chunks, b"")
    except ObjectMissing as exc:
        raise NotFound("The attachment's content is missing from storage.") from exc

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(
        body(),
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": content_disposition(attachment.filename, attachment.content_type),
            "Content-Length": str(attachment.size),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, no-store",
        },
    )


@router.delete(
    "/{attachment_id}",
    name="attachments:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete(
    ctx: Ctx, session: DbSession, principal: CurrentPrincipal, attachment_id: uuid.UUID
) -> Response:
    """Customer users delete only their own. The stored object goes once the deletion is committed."""
    key = await service.delete_attachment(session, principal, attachment_id)
    return Response(status_code=204, background=BackgroundTask(ctx.storage.delete, key))
