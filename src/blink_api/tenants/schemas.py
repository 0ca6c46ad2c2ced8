"""Tenant bodies."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

from blink_api.kit.schema import Name, RequestModel, ResponseModel


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


# Upper-cased before the pattern is checked, so "nord" is accepted as NORD.
TenantCode = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z0-9]{2,10}$")]


class TenantCreate(RequestModel):
    name: Name
    code: TenantCode = Field(description="2 to 10 letters or digits; prefixes the tenant's ticket numbers.")


class TenantUpdate(RequestModel):
    name: Name = Field(default=None)
    code: TenantCode = Field(default=None)


class TenantRead(ResponseModel):
    id: uuid.UUID
    name: str
    code: str
    created_at: datetime
    updated_at: datetime
