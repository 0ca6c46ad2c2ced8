"""Employee and permission-group bodies."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, EmailStr, Field

from blink_api.identity.password_policy import DESCRIPTION as PASSWORD_RULE
from blink_api.identity.principals import Permission
from blink_api.identity.schemas import NewPassword
from blink_api.kit.schema import Id, Name, RequestModel, ResponseModel

Locale = Literal["de", "en"]

_PERMISSIONS = (
    "The permissions the group grants its employees. `insight:manage`: configure the customer portal "
    "(takes effect only for administrators); `check:templates:manage`: create and change form templates; "
    "`schedules:manage`: plan recurring work (schedules) on the sites of the employee's tenants."
)
_GROUP_NAME = "The group's name, unique."
_EMAIL = "The address the employee logs in with and receives mails at; unique among all accounts."
_NAME = "The employee's name, as colleagues and customers see it."
_IS_ADMIN = "Administrators manage tenants, sites, ticket types, employees, permission groups and webhooks."
_TENANTS = "The tenants the employee belongs to: it sees and works their sites' tickets."
_GROUPS = "The permission groups whose permissions the employee holds."
_NOTIFY = "Mail me about customer tickets of my tenants that have no assignee."
_LOCALE = "The language of the employee's mails. `de`: German; `en`: English."

_GROUP_EXAMPLE = {
    "id": "2a5d9f1b-7e34-4c68-a0b2-6d1e8f3c9a75",
    "name": "Objektleitung",
    "permissions": ["check:templates:manage"],
    "created_at": "2026-01-12T08:30:00Z",
    "updated_at": "2026-02-03T14:05:00Z",
}


class PermissionGroupCreate(RequestModel):
    """A new permission group."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Objektleitung", "permissions": ["check:templates:manage"]}]}
    )

    name: Name = Field(description=_GROUP_NAME)
    permissions: list[Permission] = Field(default_factory=list, max_length=20, description=_PERMISSIONS)


class PermissionGroupUpdate(RequestModel):
    """Changes to a permission group: only the fields sent change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"permissions": ["check:templates:manage", "insight:manage"]},
                {"name": "Regionalleitung"},
            ]
        }
    )

    name: Name = Field(default=None, description=_GROUP_NAME)
    permissions: list[Permission] = Field(default=None, max_length=20, description=_PERMISSIONS)


class PermissionGroupRead(ResponseModel):
    """A set of permissions employees hold by belonging to the group."""

    model_config = ConfigDict(json_schema_extra={"examples": [_GROUP_EXAMPLE]})

    id: uuid.UUID = Field(description="The group's id.")
    name: str = Field(description=_GROUP_NAME)
    permissions: list[str] = Field(description=_PERMISSIONS)
    created_at: datetime = Field(description="When the group was created.")
    updated_at: datetime = Field(description="When the group was last changed.")


class EmployeeCreate(RequestModel):
    """A new employee (administrators)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "jana.petersen@example.com",
                    "name": "Jana Petersen",
                    "is_admin": False,
                    "tenant_ids": ["3f2b8c1e-6d4a-4e9b-9a17-2c5d8e0f1a23"],
                    "permission_group_ids": ["2a5d9f1b-7e34-4c68-a0b2-6d1e8f3c9a75"],
                    "notify_unassigned": True,
                    "locale": "de",
                }
            ]
        }
    )

    email: EmailStr = Field(description=_EMAIL)
    name: Name = Field(description=_NAME)
    password: NewPassword | None = Field(
        default=None,
        description="Without a password, an invitation mail with a single-use set-password link is sent. "
        + PASSWORD_RULE,
    )
    is_admin: bool = Field(default=False, description=_IS_ADMIN)
    tenant_ids: list[Id] = Field(default_factory=list, max_length=500, description=_TENANTS)
    permission_group_ids: list[Id] = Field(default_factory=list, max_length=100, description=_GROUPS)
    notify_unassigned: bool = Field(default=False, description=_NOTIFY)
    locale: Locale = Field(default="de", description=_LOCALE)


class EmployeeUpdate(RequestModel):
    """Changes to an employee (administrators): only the fields sent change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant_ids": [
                        "3f2b8c1e-6d4a-4e9b-9a17-2c5d8e0f1a23",
                        "5e2c8a17-4d93-4f6b-8b21-7a9e3c5d1f08",
                    ],
                    "notify_unassigned": False,
                },
                {"is_active": False},
            ]
        }
    )

    email: EmailStr = Field(default=None, description=_EMAIL)
    name: Name = Field(default=None, description=_NAME)
    password: NewPassword = Field(default=None, description="Logs out every session. " + PASSWORD_RULE)
    is_admin: bool = Field(default=None, description=_IS_ADMIN)
    is_active: bool = Field(default=None, description="Deactivating logs the employee out everywhere.")
    tenant_ids: list[Id] = Field(default=None, max_length=500, description=_TENANTS)
    permission_group_ids: list[Id] = Field(default=None, max_length=100, description=_GROUPS)
    notify_unassigned: bool = Field(default=None, description=_NOTIFY)
    locale: Locale = Field(default=None, description=_LOCALE)


class EmployeeRead(ResponseModel):
    """An employee of the service company: staff who work tickets on their tenants' sites."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "1d7c4b9e-8a25-4f03-b6e1-3c9f5a2d8e74",
                    "email": "jana.petersen@example.com",
                    "name": "Jana Petersen",
                    "is_admin": False,
                    "is_active": True,
                    "tenant_ids": ["3f2b8c1e-6d4a-4e9b-9a17-2c5d8e0f1a23"],
                    "permission_group_ids": ["2a5d9f1b-7e34-4c68-a0b2-6d1e8f3c9a75"],
                    "notify_unassigned": True,
                    "locale": "de",
                    "created_at": "2026-01-12T08:45:00Z",
                    "updated_at": "2026-01-12T08:45:00Z",
                }
            ]
        }
    )

    id: uuid.UUID = Field(description="The employee's id.")
    email: str = Field(description=_EMAIL)
    name: str = Field(description=_NAME)
    is_admin: bool = Field(description=_IS_ADMIN)
    is_active: bool = Field(
        description="Whether the employee may log in; deactivated employees stay on record."
    )
    tenant_ids: list[uuid.UUID] = Field(description=_TENANTS)
    permission_group_ids: list[uuid.UUID] = Field(description=_GROUPS)
    notify_unassigned: bool = Field(
        description="Whether the employee is mailed about unassigned customer tickets of its tenants."
    )
    locale: str = Field(description=_LOCALE)
    created_at: datetime = Field(description="When the employee was created.")
    updated_at: datetime = Field(description="When the employee was last changed.")
