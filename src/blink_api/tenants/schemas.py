"""Tenant bodies."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints

from blink_api.kit.schema import Name, RequestModel, ResponseModel


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


# Upper-cased before the pattern is checked, so "nord" is accepted as NORD.
TenantCode = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z0-9]{2,10}$")]


_NAME = "The company's name."
_CODE = (
    "2 to 10 letters or digits, unique; prefixes the tenant's ticket numbers (lower case is accepted "
    "and kept in upper case)."
)


class TenantCreate(RequestModel):
    """A new tenant (administrators)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Nordreinigung GmbH", "code": "NORD"}]}
    )

    name: Name = Field(description=_NAME)
    code: TenantCode = Field(description=_CODE)


class TenantUpdate(RequestModel):
    """Changes to a tenant: only the fields sent change."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Nordreinigung Gebäudeservice GmbH"}]})

    name: Name = Field(default=None, description=_NAME)
    code: TenantCode = Field(
        default=None, description=_CODE + " Ticket numbers given already keep their prefix."
    )


class TenantRead(ResponseModel):
    """A tenant: a company or branch of the service group that owns sites and ticket types."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f2b8c1e-6d4a-4e9b-9a17-2c5d8e0f1a23",
                    "name": "Nordreinigung GmbH",
                    "code": "NORD",
                    "created_at": "2026-01-05T09:00:00Z",
                    "updated_at": "2026-01-05T09:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The tenant's id.")
    name: str = Field(description=_NAME)
    code: str = Field(description="Prefixes the tenant's ticket numbers, e.g. `NORD-001042`.")
    created_at: datetime = Field(description="When the tenant was created.")
    updated_at: datetime = Field(description="When the tenant was last changed.")
