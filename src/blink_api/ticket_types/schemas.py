"""Ticket type bodies."""

import uuid
from datetime import datetime

from pydantic import Field

from blink_api.schema_types import Input, Name, Output
from blink_api.ticket_types.models import TicketCategory


class TicketTypeCreate(Input):
    tenant_id: uuid.UUID
    name: Name
    category: TicketCategory = Field(
        default=TicketCategory.standard, description="`absence` for leave and sick-note requests."
    )


class TicketTypeUpdate(Input):
    """Tenant and category are fixed once the type exists: tickets and portal settings rely on them."""

    name: Name = Field(default=None)


class TicketTypeRead(Output):
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    category: TicketCategory
    created_at: datetime
    updated_at: datetime
