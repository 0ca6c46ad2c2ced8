"""HTTP endpoint of site documents."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from blink_api.documents import service
from blink_api.files.schemas import AttachmentRead
from blink_api.identity.dependencies import CurrentPrincipal
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination

router = APIRouter(prefix="/sites", tags=["documents"])

SiteId = Annotated[uuid.UUID, Path(description="The site's id; 404 when the caller does not see it.")]


@router.get("/{site_id}/documents", name="documents:list", responses=problem_responses(401, 404, 422))
async def list_site_documents(
    session: DbSession, principal: CurrentPrincipal, site_id: SiteId, page: Pagination
) -> Page[AttachmentRead]:
    """The site's documents: attachments of the site's tickets whose type the site's customer chose as
    a document source (`document_sources` of its ticket settings), newest first; download each through
    `GET /attachments/{attachment_id}/content`. For everyone who sees the site: employees of its
    tenant, customer users it is assigned to."""
    return await service.list_site_documents(session, principal, site_id, page)
