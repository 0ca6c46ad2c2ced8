"""Files uploaded on their own, to be referenced afterwards (form photos and signatures)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, Response, UploadFile, status

from blink_api.files import service
from blink_api.files.schemas import AttachmentList, AttachmentRead
from blink_api.identity.dependencies import CurrentEmployee
from blink_api.kit.context import Ctx
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses

uploads_router = APIRouter(prefix="/uploads", tags=["uploads"])


@uploads_router.post(
    "",
    name="uploads:create",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses(
            "The first file's content (`GET /attachments/{attachment_id}/content`); `items` lists every file."
        ),
        **problem_responses(401, 403, 413, 415, 422, 429, 503),
    },
)
async def upload(
    ctx: Ctx,
    session: DbSession,
    principal: CurrentEmployee,
    files: Annotated[list[UploadFile], File(description="One or more files.")],
    request: Request,
    response: Response,
) -> AttachmentList:
    """Files to reference afterwards, such as form photos and signatures (employees only): the same
    checks as ticket attachments; only the uploader sees them until they are used. Images are stored
    normalised: at most 2048 pixels on the longer side, upright, re-encoded in their format without
    metadata; `size` is that of the stored image."""
    checked = await service.check_files(ctx, principal, files)
    stored = await service.store_files(session, ctx.storage, principal, checked)
    # An upload is read where every file is (the `attachments` routes, reached here by name only).
    response.headers["Location"] = location(request, "attachments:content", attachment_id=stored[0].id)
    return AttachmentList(items=[AttachmentRead.model_validate(a) for a in stored])
