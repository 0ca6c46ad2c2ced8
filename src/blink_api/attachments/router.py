"""HTTP endpoints of attachments: a ticket's (list, add), and single ones (download, delete, rename,
replace the content)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Path, Request, Response, UploadFile, status
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from blink_api.attachments import service
from blink_api.files import service as stored_files
from blink_api.files.downloads import DOWNLOAD_TYPES, stored_file
from blink_api.files.schemas import AttachmentList, AttachmentRead, AttachmentRename
from blink_api.identity.dependencies import CurrentPrincipal
from blink_api.kit.context import Ctx
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import Invalid, problem_responses
from blink_api.kit.idempotency import Idempotent
from blink_api.kit.pagination import Page, Pagination
from blink_api.tickets import service as tickets

router = APIRouter(prefix="/attachments", tags=["attachments"])
ticket_attachments_router = APIRouter(prefix="/tickets", tags=["tickets"])

AttachmentId = Annotated[uuid.UUID, Path(description="The file's id; 404 when the caller cannot reach it.")]
TicketId = Annotated[uuid.UUID, Path(description="The ticket's id; 404 when the caller does not see it.")]


@router.get(
    "/{attachment_id}/content",
    name="attachments:content",
    response_class=StreamingResponse,
    responses={**problem_responses(401, 404, 422), 200: {"content": DOWNLOAD_TYPES}},
)
async def download(
    ctx: Ctx, session: DbSession, principal: CurrentPrincipal, attachment_id: AttachmentId, request: Request
) -> Response:
    """The stored bytes, with the type read from them; shown inline only for images and PDF, offered
    for download otherwise; as `application/octet-stream` to a client whose `Accept` prefers that.
    Anyone who sees the ticket the file is attached to may fetch it (customer users: also a site
    document); a file on no ticket (an upload, a form's photo or signature) only its uploader."""
    attachment = await service.get_attachment(session, principal, attachment_id)
    return await stored_file(
        ctx.storage,
        attachment.storage_key,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        accept=request.headers.get("accept"),
    )


@router.delete(
    "/{attachment_id}",
    name="attachments:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete(
    ctx: Ctx, session: DbSession, principal: CurrentPrincipal, attachment_id: AttachmentId
) -> Response:
    """Removes a file from its ticket (kept in the ticket's history) and from storage. Employees who see
    the ticket may delete any of its files; customer users delete only their own. Photos and
    signatures of a form submission: only its filler, only while it is a draft (409 once completed).
    The stored object goes once the deletion is committed."""
    key = await service.delete_attachment(session, principal, attachment_id)
    return Response(status_code=204, background=BackgroundTask(ctx.storage.delete, key))


@router.patch(
    "/{attachment_id}",
    name="attachments:update",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update(
    session: DbSession, principal: CurrentPrincipal, attachment_id: AttachmentId, body: AttachmentRename
) -> AttachmentRead:
    """Renames a ticket's attachment: only the person who added it may (403 for everyone else who sees
    it, employees included). The name is free text, cleaned as `filename` says; the content type stays
    what the bytes are, and downloads are offered under the new name. The ticket's history records the
    old and the new name (`attachment_renamed`); sending the current name changes nothing. Photos and
    signatures of forms and uploads on no ticket are not renamed (409)."""
    return AttachmentRead.model_validate(
        await service.rename_attachment(session, principal, attachment_id, body.filename)
    )


@router.put(
    "/{attachment_id}/content",
    name="attachments:replace_content",
    responses=problem_responses(401, 403, 404, 409, 413, 415, 422, 429, 503),
)
async def replace_content(
    ctx: Ctx,
    session: DbSession,
    principal: CurrentPrincipal,
    attachment_id: AttachmentId,
    file: Annotated[UploadFile, File(description="The new file; exactly one.")],
    request: Request,
    background: BackgroundTasks,
) -> AttachmentRead:
    """Replaces the content of a ticket's attachment, as a multipart form with exactly one `file`: only
    the person who added it may (403 for everyone else who sees it). The same checks as an upload (type
    read from the bytes, 415 for a type not allowed; 413 above the size limit; images stored
    normalised). The id stays; `filename`, `content_type` and `size` follow the new file, and the
    ticket's history records both (`attachment_replaced`). The previous content stays downloadable
    until the replacement is committed and is removed from storage afterwards; a refused or failed
    replacement leaves it as it was. Photos and signatures of forms and uploads on no ticket are not
    replaced (409). Sending the same file again gives the same result."""
    attachment = await service.editable_attachment(session, principal, attachment_id)
    if len((await request.form()).getlist("file")) != 1:
        raise Invalid.at(["body", "file"], "Send exactly one file.")
    checked = await stored_files.check_files(ctx, principal, [file], field="file")
    previous = await service.replace_content(session, ctx.storage, principal, attachment, checked[0])
    # Runs after the response, so after the commit; never when the change rolled back.
    background.add_task(ctx.storage.delete, previous)
    return AttachmentRead.model_validate(attachment)


@ticket_attachments_router.get(
    "/{ticket_id}/attachments", name="tickets:list_attachments", responses=problem_responses(401, 404, 422)
)
async def list_attachments(
    session: DbSession, principal: CurrentPrincipal, ticket_id: TicketId, page: Pagination
) -> Page[AttachmentRead]:
    """The files attached to a ticket the caller sees, newest first; fetch each one's bytes through
    `GET /attachments/{attachment_id}/content`."""
    return await service.list_for_ticket(session, principal, ticket_id, page)


@ticket_attachments_router.post(
    "/{ticket_id}/attachments",
    name="tickets:create_attachments",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses(
            "The first file's content (`GET /attachments/{attachment_id}/content`); `items` lists every file."
        ),
        **problem_responses(401, 403, 404, 409, 413, 415, 422, 429, 503),
    },
)
async def create_attachments(
    ctx: Ctx,
    session: DbSession,
    principal: CurrentPrincipal,
    ticket_id: TicketId,
    files: Annotated[list[UploadFile], File(description="One or more files.")],
    idempotency: Idempotent,
    request: Request,
) -> AttachmentList:
    """Attaches files to a ticket the caller sees (employees and customer users alike), as a multipart
    form with one or more `files` (at most 20). Images, PDF, office documents and text; the type is
    read from the bytes, not from the client (415 otherwise). Images are stored normalised (at most
    2048 pixels on the longer side, upright, without metadata). Each file is kept in the ticket's
    history. With `Idempotency-Key`, a retry with the same key and files answers the first result."""
    ticket = await tickets.get_ticket(session, principal, ticket_id)
    checked = await stored_files.check_files(ctx, principal, files)

    async def create() -> AttachmentList:
        stored = await tickets.attach_files(
            session, ctx.storage, principal, ticket.id, checked, settings=ctx.settings
        )
        return AttachmentList(items=[AttachmentRead.model_validate(a) for a in stored])

    parts = stored_files.upload_fingerprint(checked)
    return await idempotency.run(  # type: ignore[return-value]
        principal.id,
        parts,
        create,
        location=lambda created: location(
            request, "attachments:content", attachment_id=created["items"][0]["id"]
        ),
    )
