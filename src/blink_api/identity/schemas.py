"""Request and response bodies of log-in and identity."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import Form
from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from pydantic_core import PydanticCustomError

from blink_api.identity import password_policy
from blink_api.kit.schema import RequestModel, Text


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
