"""Request and response bodies of log-in and identity."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Form
from pydantic import AfterValidator, BaseModel, Field, StringConstraints
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


class PasswordSet(RequestModel):
    token: str = Field(min_length=10, max_length=200, description="The token from the set-password link.")
    password: NewPassword = Field(description=password_policy.DESCRIPTION)


class LoginForm:
    """The OAuth2 password form (`grant_type`, `username`, `password`, `scope`), its text checked like
    any other input; further fields of the flow are ignored."""

    def __init__(
        self,
        # No length rule: a name no account can have is a failed log-in, counted for the caller.
        username: Annotated[Text, Form(description="The e-mail address.")],
        password: Annotated[str, Form(json_schema_extra={"format": "password"})],
        grant_type: Annotated[Literal["password"] | None, Form()] = None,
        scope: Annotated[str, Form(max_length=1000)] = "",
    ) -> None:
        self.username = username
        self.password = password


# -- API tokens ------------------------------------------------------------------------------------

_SCOPES_DESCRIPTION = (
    "What the token may be used for; it never goes beyond what its owner may do. "
    + " ".join(f"`{scope}`: {what}" for scope, what in SCOPE_DESCRIPTIONS.items())
)


class ApiTokenCreate(RequestModel):
    name: Name = Field(description="What the token is for, e.g. the system that uses it.")
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=len(SCOPES),
        description=_SCOPES_DESCRIPTION + " Customer users may hold only `tickets:read` and `tickets:write`.",
    )
    expires_at: Instant | None = Field(
        default=None, description="When the token stops working (in the future); none: when it is revoked."
    )


class ApiTokenRead(ResponseModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(
        description="The beginning of the token, to recognise it by; the rest is never shown."
    )
    scopes: list[Scope]
    expires_at: datetime | None
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="When the token was last used, to the minute (not updated more often)."
    )


class ApiTokenCreated(ApiTokenRead):
    token: str = Field(description="The secret: shown in this answer only, never again. Keep it safe.")
