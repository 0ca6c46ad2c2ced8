"""Employee and permission-group bodies."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import EmailStr, Field

from blink_api.identity.password_policy import DESCRIPTION as PASSWORD_RULE
from blink_api.identity.principals import Permission
from blink_api.identity.schemas import NewPassword
from blink_api.kit.schema import Id, Name, RequestModel, ResponseModel

Locale = Literal["de", "en"]


class PermissionGroupCreate(RequestModel):
    name: Name
    permissions: list[Permission] = Field(default_factory=list, max_length=20)


class PermissionGroupUpdate(RequestModel):
    name: Name = Field(default=None)
    permissions: list[Permission] = Field(default=None, max_length=20)


class PermissionGroupRead(ResponseModel):
    id: uuid.UUID
    name: str
    permissions: list[str]
    created_at: datetime
    updated_at: datetime


class EmployeeCreate(RequestModel):
    email: EmailStr
    name: Name
    password: NewPassword | None = Field(
        default=None,
        description="Without a password, an invitation mail with a single-use set-password link is sent. "
        + PASSWORD_RULE,
    )
    is_admin: bool = False
    tenant_ids: list[Id] = Field(default_factory=list, max_length=500)
    permission_group_ids: list[Id] = Field(default_factory=list, max_length=100)
    notify_unassigned: bool = Field(
        default=False, description="Mail me about customer tickets of my tenants that have no assignee."
    )
    locale: Locale = "de"


class EmployeeUpdate(RequestModel):
    email: EmailStr = Field(default=None)
    name: Name = Field(default=None)
    password: NewPassword = Field(default=None, description="Logs out every session. " + PASSWORD_RULE)
    is_admin: bool = Field(default=None)
    is_active: bool = Field(default=None, description="Deactivating logs the employee out everywhere.")
    tenant_ids: list[Id] = Field(default=None, max_length=500)
    permission_group_ids: list[Id] = Field(default=None, max_length=100)
    notify_unassigned: bool = Field(default=None)
    locale: Locale = Field(default=None)


class EmployeeRead(ResponseModel):
    id: uuid.UUID
    email: str
    name: str
    is_admin: bool
    is_active: bool
    tenant_ids: list[uuid.UUID]
    permission_group_ids: list[uuid.UUID]
    notify_unassigned: bool
    locale: str
    created_at: datetime
    updated_at: datetime
