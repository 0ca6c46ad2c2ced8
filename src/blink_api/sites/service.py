"""Site rules: admins manage sites; everyone reads the sites in their scope."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import Customer, Site
from blink_api.customers.scope import enabled_types
from blink_api.identity.principals import CustomerUserPrincipal, Principal
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.rows import apply_changes, delete_or_409, one_or_404, require_exists
from blink_api.sites import repository as repo
from blink_api.sites.schemas import SiteCreate, SiteRead, SiteUpdate
from blink_api.tenants.models import Tenant
from blink_api.ticket_types.models import TicketType
from blink_api.ticket_types.schemas import TicketTypeRead


async def list_sites(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    tenant_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
) -> Page[SiteRead]:
    stmt = repo.visible_sites(principal)
    if tenant_id is not None:
        stmt = stmt.where(Site.tenant_id == tenant_id)
    if customer_id is not None:
        stmt = stmt.where(Site.customer_id == customer_id)
    rows, cursor = await paginate(session, stmt, page, created_at=Site.created_at, id_=Site.id)
    return Page[SiteRead](items=[SiteRead.model_validate(r) for r in rows], next_cursor=cursor)


async def get_site(session: AsyncSession, principal: Principal, site_id: uuid.UUID) -> Site:
    return await one_or_404(session, repo.site_by_id(principal, site_id), "Site")


async def create_site(session: AsyncSession, body: SiteCreate) -> Site:
    await require_exists(session, Tenant, body.tenant_id, ["body", "tenant_id"], "tenant")
    await require_exists(session, Customer, body.customer_id, ["body", "customer_id"], "customer")
    site = Site(**body.model_dump())
    session.add(site)
    await session.flush()
    return site


async def update_site(
    session: AsyncSession, principal: Principal, site_id: uuid.UUID, body: SiteUpdate
) -> Site:
    site = await get_site(session, principal, site_id)
    apply_changes(site, body)
    await session.flush()
    return site


async def delete_site(session: AsyncSession, principal: Principal, site_id: uuid.UUID) -> None:
    site = await get_site(session, principal, site_id)
    await delete_or_409(session, site, "The site")


async def creatable_ticket_types(
    session: AsyncSession, principal: Principal, site_id: uuid.UUID, page: PageParams
) -> Page[TicketTypeRead]:
    """The types the caller may create on the site: the site's tenant decides, the customer's
    settings narrow it down for customer users."""
    site = await get_site(session, principal, site_id)
    stmt = select(TicketType).where(TicketType.tenant_id == site.tenant_id)
    if isinstance(principal, CustomerUserPrincipal):
        stmt = stmt.where(TicketType.id.in_(enabled_types(principal.customer_id)))
    rows, cursor = await paginate(session, stmt, page, created_at=TicketType.created_at, id_=TicketType.id)
    return Page[TicketTypeRead](items=[TicketTypeRead.model_validate(t) for t in rows], next_cursor=cursor)
