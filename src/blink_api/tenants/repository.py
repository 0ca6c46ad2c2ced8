"""SQL for tenants."""

import uuid
from typing import Any

from sqlalchemy import Select, select

from blink_api.identity.principals import EmployeePrincipal
from blink_api.identity.scope import served_tenants
from blink_api.tenants.models import Tenant


def visible_tenants(principal: EmployeePrincipal) -> Select[Any]:
    return select(Tenant).where(served_tenants(principal, Tenant.id))


def tenant_by_id(principal: EmployeePrincipal, tenant_id: uuid.UUID) -> Select[Any]:
    return visible_tenants(principal).where(Tenant.id == tenant_id)
