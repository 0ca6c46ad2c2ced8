"""Listing a site's documents."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.documents import repository as repo
from blink_api.files.models import Attachment
from blink_api.files.schemas import AttachmentRead
from blink_api.identity.principals import Principal
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.sites.service import get_site


async def list_site_documents(
    session: AsyncSession, principal: Principal, site_id: uuid.UUID, page: PageParams
) -> Page[AttachmentRead]:
    site = await get_site(session, principal, site_id)
    rows, cursor = await paginate(
        session, repo.site_documents(site), page, created_at=Attachment.created_at, id_=Attachment.id
    )
    return Page[AttachmentRead](items=[AttachmentRead.model_validate(a) for a in rows], next_cursor=cursor)
