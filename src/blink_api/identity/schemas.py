"""Request and response bodies of log-in and identity."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PASSWORD_MIN_LENGTH = 8
Password = Field(min_length=PASSWORD_MIN_LENGTH, max_length=256, description="At least 8 characters.")


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class Me(BaseModel):
    id: uuid.UUID
    kind: Literal["employee", "customer_user"]
    email: str
    name: str
    is_admin: bool
    permissions: list[str]
    tenant_ids: list[uuid.UUID]
    customer_id: uuid.UUID | None


class PasswordSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=200, description="The token from the set-password link.")
    password: str = Password
