"""SQL for ticket types."""

import uuid
from typing import Any

from sqlalchemy import Select, select

from blink_api.identity.principals import EmployeePrincipal
from blink_api.identity.scope import served_tenants
from blink_api.ticket_types.models import TicketType


def visible_ticket_types(principal: EmployeePrincipal) -> Select[Any]:
    return select(TicketType).where(served_tenants(principal, TicketType.tenant_id))


def ticket_type_by_id(principal: EmployeePrincipal, ticket_type_id: uuid.UUID) -> Select[Any]:
    return visible_ticket_types(principal).where(TicketType.id == ticket_type_id)
