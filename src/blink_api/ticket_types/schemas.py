"""Ticket type bodies."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, Strict

from blink_api.schema_types import Id, Input, Name, Output
from blink_api.ticket_types.models import TicketCategory


class TicketTypeCreate(Input):
    tenant_id: Id
    name: Name
    category: Annotated[TicketCategory, Strict(False)] = Field(
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
