"""HTTP endpoint of site documents."""

import uuid

from fastapi import APIRouter

from blink_api.documents import service
from blink_api.files.schemas import AttachmentRead
from blink_api.identity.dependencies import CurrentPrincipal
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination

router = APIRouter(prefix="/sites", tags=["documents"])


@router.get("/{site_id}/documents", name="documents:list", responses=problem_responses(401, 404, 422))
async def list_site_documents(
    session: DbSession, principal: CurrentPrincipal, site_id: uuid.UUID, page: Pagination
) -> Page[AttachmentRead]:
    """Attachments of the site's tickets whose type the customer chose as document source, newest first;
    download each through `GET /attachments/{attachment_id}/content`."""
    return await service.list_site_documents(session, principal, site_id, page)
