"""Request and response bodies of log-in and identity."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Form
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from blink_api.identity import password_policy
from blink_api.identity.scopes import SCOPE_DESCRIPTIONS, SCOPES, Scope
from blink_api.kit.schema import Instant, Name, RequestModel, ResponseModel, Text


def _long_enough(password: str) -> str:
    reason = password_policy.why_not_password_length(password)
    if reason is not None:
        raise PydanticCustomError("password_too_weak", reason)
    return password


# A password a person chooses. Length and blankness are refused here; the guess estimate, which needs
# the account's address and name, is made where the password is set (identity.service).
NewPassword = Annotated[
    str,
    StringConstraints(min_length=password_policy.MIN_LENGTH, max_length=password_policy.MAX_LENGTH),
    AfterValidator(_long_enough),
]


class Token(BaseModel):
    """An access token from a log-in, to send as `Authorization: Bearer <access_token>`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJleGFtcGxlIn0.ZXhhbXBsZS1vbmx5",
                    "token_type": "bearer",
                    "expires_in": 28800,
                }
            ]
        }
    )

    access_token: str = Field(
        description="The access token; it ends with its expiry, a new password or the account's deactivation."
    )
    token_type: Literal["bearer"] = Field(
        default="bearer", description="`bearer`: send the token in the `Authorization: Bearer` header."
    )
    expires_in: int = Field(description="Seconds until the token expires.")


_PERMISSIONS = (
    "`insight:manage`: configure the customer portal (together with `is_admin`); "
    "`check:templates:manage`: create and change form templates; "
    "`schedules:manage`: plan recurring work on the sites of one's tenants."
)


class Me(BaseModel):
    """The caller: the account behind the token and what it may do."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "1d7c4b9e-8a25-4f03-b6e1-3c9f5a2d8e74",
                    "kind": "employee",
                    "email": "jana.petersen@example.com",
                    "name": "Jana Petersen",
                    "is_admin": True,
                    "permissions": ["check:templates:manage", "insight:manage"],
                    "tenant_ids": ["3f2b8c1e-6d4a-4e9b-9a17-2c5d8e0f1a23"],
                    "customer_id": None,
                },
                {
                    "id": "6f8e2a4d-1c93-4b7a-9d05-e2b7c6a1f348",
                    "kind": "customer_user",
                    "email": "malte.hansen@example.org",
                    "name": "Malte Hansen",
                    "is_admin": False,
                    "permissions": [],
                    "tenant_ids": [],
                    "customer_id": "8a6e2f14-3b7c-4d59-8e21-5f0a9c3d7b46",
                },
            ]
        }
    )

    id: uuid.UUID = Field(description="The account's id (an employee's or a customer user's).")
    kind: Literal["employee", "customer_user"] = Field(
        description="`employee`: staff of the service company; `customer_user`: a customer's portal log-in."
    )
    email: str = Field(description="The address the account logs in with.")
    name: str = Field(description="The account's display name.")
    is_admin: bool = Field(description="Whether the account is an administrator (employees only).")
    permissions: list[str] = Field(
        description="The permissions of the employee's permission groups; empty for customer users. "
        + _PERMISSIONS
    )
    tenant_ids: list[uuid.UUID] = Field(
        description="The tenants the employee belongs to; empty for customer users."
    )
    customer_id: uuid.UUID | None = Field(description="A customer user's customer; null for employees.")


class PasswordSet(RequestModel):
    """A new password, chosen with the token of an invitation link."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"token": "Zk3vQ9-example-link-token-Lw8", "password": "Glasfassade-Hafen-2026!"}]
        }
    )

    token: str = Field(min_length=10, max_length=200, description="The token from the set-password link.")
    password: NewPassword = Field(description=password_policy.DESCRIPTION)


class LoginForm:
    """The OAuth2 password form (`grant_type`, `username`, `password`, `scope`), its text checked like
    any other input; further fields of the flow are ignored."""

    def __init__(
        self,
        # No length rule: a name no account can have is a failed log-in, counted for the caller.
        username: Annotated[Text, Form(description="The e-mail address.")],
        password: Annotated[str, Form(description="The password.", json_schema_extra={"format": "password"})],
        grant_type: Annotated[
            Literal["password"] | None,
            Form(description="`password`, the only OAuth2 flow this API offers; may be left out."),
        ] = None,
        scope: Annotated[
            str,
            Form(
                max_length=1000, description="OAuth2 scopes asked for: ignored, a log-in is never narrowed."
            ),
        ] = "",
    ) -> None:
        self.username = username
        self.password = password


# -- API tokens ------------------------------------------------------------------------------------

_SCOPES_DESCRIPTION = (
    "What the token may be used for; it never goes beyond what its owner may do. "
    + " ".join(f"`{scope}`: {what}" for scope, what in SCOPE_DESCRIPTIONS.items())
)


_EXPIRES = "When the token stops working; null: only when it is revoked."


class ApiTokenCreate(RequestModel):
    """A new API token for the caller."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "CAFM Hanse Immobilien",
                    "scopes": ["tickets:read", "tickets:write"],
                    "expires_at": "2027-06-30T23:59:59+02:00",
                }
            ]
        }
    )

    name: Name = Field(description="What the token is for, e.g. the system that uses it.")
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=len(SCOPES),
        description=_SCOPES_DESCRIPTION + " Customer users may hold only `tickets:read` and `tickets:write`.",
    )
    expires_at: Instant | None = Field(
        default=None,
        description="When the token stops working (in the future); null: only when it is revoked.",
    )


_TOKEN_READ_EXAMPLE = {
    "id": "7c3e1a9f-4b26-4d85-b7e0-9a2f5c8d1e36",
    "name": "CAFM Hanse Immobilien",
    "prefix": "blk_EXAMPLEo",
    "scopes": ["tickets:read", "tickets:write"],
    "expires_at": "2027-06-30T21:59:59Z",
    "created_at": "2026-03-02T09:15:00Z",
    "last_used_at": "2026-03-04T07:42:00Z",
}


class ApiTokenRead(ResponseModel):
    """An API token as its owner sees it, without its secret."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TOKEN_READ_EXAMPLE]})

    id: uuid.UUID = Field(description="The token's id.")
    name: str = Field(description="What the token is for.")
    prefix: str = Field(
        description="The beginning of the token, to recognise it by; the rest is never shown."
    )
    scopes: list[Scope] = Field(description=_SCOPES_DESCRIPTION)
    expires_at: datetime | None = Field(description=_EXPIRES)
    created_at: datetime = Field(description="When the token was created.")
    last_used_at: datetime | None = Field(
        description="When the token was last used, to the minute (not updated more often)."
    )


class ApiTokenCreated(ApiTokenRead):
    """A new API token, with its secret: the only answer that ever shows it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_TOKEN_READ_EXAMPLE,
                    "last_used_at": None,
                    "token": "blk_EXAMPLEonly-not-a-real-token-00000000000000",
                }
            ]
        }
    )

    token: str = Field(description="The secret: shown in this answer only, never again. Keep it safe.")


_COMMENT_SETTING = (
    "Whether comment mails reach you: new public comments on tickets you follow (employees also customer "
    "users' comments). `false` stops these only."
)
_STATUS_SETTING = (
    "Whether status mails reach you: the status of a ticket you follow changed, closing and "
    "re-opening included. `false` stops these only."
)
_MAIL_LOCALE = "The language of your mails. `de`: German; `en`: English."


class NotificationSettingsUpdate(RequestModel):
    """Which ticket mails reach you, and in which language: all three fields, replacing what was set."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"comment": False, "status": True, "locale": "en"}]}
    )

    comment: bool = Field(description=_COMMENT_SETTING)
    status: bool = Field(description=_STATUS_SETTING)
    locale: Literal["de", "en"] = Field(description=_MAIL_LOCALE)


class NotificationSettings(ResponseModel):
    """Which ticket mails reach you, and in which language. Mails about tickets you follow
    (`/tickets/{ticket_id}/subscription`) obey it; mails about new attachments (employees), new customer
    tickets, invitations and password links come whatever it says."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"comment": True, "status": True, "locale": "de"}]}
    )

    comment: bool = Field(description=_COMMENT_SETTING)
    status: bool = Field(description=_STATUS_SETTING)
    locale: Literal["de", "en"] = Field(description=_MAIL_LOCALE)
