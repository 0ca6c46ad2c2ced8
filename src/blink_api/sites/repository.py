"""SQL for sites, starting from the one statement that says which sites a principal sees."""

import uuid
from typing import Any

from sqlalchemy import Select, select

from blink_api.customers.models import Site
from blink_api.customers.scope import assigned_sites
from blink_api.identity.principals import EmployeePrincipal, Principal
from blink_api.identity.scope import served_tenants


def visible_sites(principal: Principal) -> Select[Any]:
    """Admins: every site; employees: their tenants' sites; customer users: the sites assigned to them."""
    if isinstance(principal, EmployeePrincipal):
        return select(Site).where(served_tenants(principal, Site.tenant_id))
    return select(Site).where(Site.id.in_(assigned_sites(principal.id, principal.customer_id)))


def site_by_id(principal: Principal, site_id: uuid.UUID) -> Select[Any]:
    return visible_sites(principal).where(Site.id == site_id)
