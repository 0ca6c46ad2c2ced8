"""Site bodies."""

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from blink_api.kit.schema import Id, Name, RequestModel, ResponseModel, trimmed

Address = trimmed(max_length=500)


_TENANT = "The tenant serving the site: its ticket types are the ones offered there."
_CUSTOMER = "The customer the site belongs to: its customer users may be assigned the site."
_NAME = "The site's name, as employees and customer users see it."
_ADDRESS = "The site's postal address, free text."


class SiteCreate(RequestModel):
    """A new site (administrators)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant_id": "3f2b8c1e-6d4a-4e9b-9a17-2c5d8e0f1a23",
                    "customer_id": "8a6e2f14-3b7c-4d59-8e21-5f0a9c3d7b46",
                    "name": "Bürogebäude Hafenstraße 12",
                    "address": "Hafenstraße 12, 20457 Hamburg",
                }
            ]
        }
    )

    tenant_id: Id = Field(description=_TENANT + " Fixed once the site exists.")
    customer_id: Id = Field(description=_CUSTOMER + " Fixed once the site exists.")
    name: Name = Field(description=_NAME)
    address: Address | None = Field(default=None, description=_ADDRESS)


class SiteUpdate(RequestModel):
    """The tenant and customer of a site are fixed once it exists."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "Bürogebäude Hafenstraße 12 (Haus A)", "address": "Hafenstraße 12a, 20457 Hamburg"}
            ]
        }
    )

    name: Name = Field(default=None, description=_NAME)
    address: Address | None = Field(default=None, description=_ADDRESS + " Null removes it.")


class SiteRead(ResponseModel):
    """A site (Objekt): a building or location the service company serves for a customer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "c4d1e7a2-9f38-4b60-a5e3-7d2b6f1c8e90",
                    "tenant_id": "3f2b8c1e-6d4a-4e9b-9a17-2c5d8e0f1a23",
                    "customer_id": "8a6e2f14-3b7c-4d59-8e21-5f0a9c3d7b46",
                    "name": "Bürogebäude Hafenstraße 12",
                    "address": "Hafenstraße 12, 20457 Hamburg",
                    "created_at": "2026-01-06T10:20:00Z",
                    "updated_at": "2026-01-06T10:20:00Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The site's id.")
    tenant_id: uuid.UUID = Field(description=_TENANT)
    customer_id: uuid.UUID = Field(description=_CUSTOMER)
    name: str = Field(description=_NAME)
    address: str | None = Field(description=_ADDRESS)
    created_at: datetime = Field(description="When the site was created.")
    updated_at: datetime = Field(description="When the site was last changed.")
