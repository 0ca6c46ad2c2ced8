"""Field types shared by the request and response bodies of every domain."""

from typing import Annotated

import email_validator
from pydantic import BaseModel, ConfigDict, StringConstraints

# Self-hosted installations use internal domains (firma.local) and test setups *.test addresses;
# both are reserved names email-validator refuses by default. Its documented switch: drop them
# from the special-use list. Syntax is still checked.
for _domain in ("local", "test"):
    if _domain in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_domain)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]


class Input(BaseModel):
    """Base of every request body: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)
