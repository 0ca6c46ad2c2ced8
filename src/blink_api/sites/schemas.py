"""Site bodies."""

import uuid
from datetime import datetime

from pydantic import Field

from blink_api.kit.schema import Id, Name, RequestModel, ResponseModel, trimmed

Address = trimmed(max_length=500)


class SiteCreate(RequestModel):
    tenant_id: Id
    customer_id: Id
    name: Name
    address: Address | None = None


class SiteUpdate(RequestModel):
    """The tenant and customer of a site are fixed once it exists."""

    name: Name = Field(default=None)
    address: Address | None = None


class SiteRead(ResponseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    address: str | None
    created_at: datetime
    updated_at: datetime
