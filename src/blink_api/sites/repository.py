"""SQL for sites, starting from the one statement that says which sites a principal sees."""

import uuid
from typing import Any

from sqlalchemy import Select, select

from blink_api.customers.models import Site, customer_user_sites
from blink_api.identity.principals import EmployeePrincipal, Principal


def visible_sites(principal: Principal) -> Select[Any]:
    """Admins: every site; employees: their tenants' sites; customer users: the sites assigned to them."""
    stmt = select(Site)
    if isinstance(principal, EmployeePrincipal):
        if not principal.is_admin:
            stmt = stmt.where(Site.tenant_id.in_(principal.tenant_ids))
        return stmt
    return stmt.where(
        Site.customer_id == principal.customer_id,
        Site.id.in_(
            select(customer_user_sites.c.site_id).where(
                customer_user_sites.c.customer_user_id == principal.id
            )
        ),
    )


def site_by_id(principal: Principal, site_id: uuid.UUID) -> Select[Any]:
    return visible_sites(principal).where(Site.id == site_id)
