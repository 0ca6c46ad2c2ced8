"""Ticket type bodies."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, Strict

from blink_api.kit.schema import Id, Name, RequestModel, ResponseModel
from blink_api.ticket_types.models import TicketCategory


class TicketTypeCreate(RequestModel):
    tenant_id: Id
    name: Name
    category: Annotated[TicketCategory, Strict(False)] = Field(
        default=TicketCategory.standard, description="`absence` for leave and sick-note requests."
    )


class TicketTypeUpdate(RequestModel):
    """Tenant and category are fixed once the type exists: tickets and portal settings rely on them."""

    name: Name = Field(default=None)


class TicketTypeRead(ResponseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    category: TicketCategory
    created_at: datetime
    updated_at: datetime
