"""HTTP endpoints of sites."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from blink_api.identity.dependencies import AdminEmployee, CurrentPrincipal
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination
from blink_api.sites import service
from blink_api.sites.schemas import SiteCreate, SiteRead, SiteUpdate
from blink_api.ticket_types.schemas import TicketTypeRead

router = APIRouter(prefix="/sites", tags=["sites"])

SiteId = Annotated[uuid.UUID, Path(description="The site's id.")]


@router.get("", name="sites:list", responses=problem_responses(401, 422))
async def list_sites(
    session: DbSession,
    principal: CurrentPrincipal,
    page: Pagination,
    tenant_id: Annotated[uuid.UUID | None, Query(description="Only the sites of this tenant.")] = None,
    customer_id: Annotated[uuid.UUID | None, Query(description="Only the sites of this customer.")] = None,
) -> Page[SiteRead]:
    """Everyone, newest first: admins see every site, employees their tenants' sites, customer users
    the sites assigned to them."""
    return await service.list_sites(session, principal, page, tenant_id, customer_id)


@router.post(
    "",
    name="sites:create",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses("The new site (`GET /sites/{site_id}`)."),
        **problem_responses(401, 403, 422),
    },
)
async def create_site(
    session: DbSession, admin: AdminEmployee, body: SiteCreate, request: Request, response: Response
) -> SiteRead:
    """Administrators only. 422 when the tenant or the customer does not exist."""
    created = SiteRead.model_validate(await service.create_site(session, body))
    response.headers["Location"] = location(request, "sites:read", site_id=created.id)
    return created


@router.get("/{site_id}", name="sites:read", responses=problem_responses(401, 404, 422))
async def read_site(session: DbSession, principal: CurrentPrincipal, site_id: SiteId) -> SiteRead:
    """Everyone, within their scope: admins any site, employees their tenants' sites, customer users
    their assigned sites (404 for the rest)."""
    return SiteRead.model_validate(await service.get_site(session, principal, site_id))


@router.patch("/{site_id}", name="sites:update", responses=problem_responses(401, 403, 404, 422))
async def update_site(
    session: DbSession, admin: AdminEmployee, site_id: SiteId, body: SiteUpdate
) -> SiteRead:
    """Administrators only; only the fields sent change (tenant and customer stay)."""
    return SiteRead.model_validate(await service.update_site(session, admin, site_id, body))


@router.delete(
    "/{site_id}",
    name="sites:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_site(session: DbSession, admin: AdminEmployee, site_id: SiteId) -> None:
    """Administrators only. Refused with 409 while tickets or form submissions refer to the site."""
    await service.delete_site(session, admin, site_id)


@router.get("/{site_id}/ticket-types", name="sites:ticket_types", responses=problem_responses(401, 404, 422))
async def site_ticket_types(
    session: DbSession, principal: CurrentPrincipal, site_id: SiteId, page: Pagination
) -> Page[TicketTypeRead]:
    """Everyone who sees the site (404 otherwise), newest first: what the caller may create on it, the
    types of the site's tenant; for customer users only those enabled for their customer."""
    return await service.creatable_ticket_types(session, principal, site_id, page)
