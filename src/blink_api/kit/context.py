"""What one process shares between requests: settings, database, hashing, tokens, file storage, rates,
the bound on renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from blink_api.kit.capacity import Gate
from blink_api.kit.config import Settings
from blink_api.kit.db import Database
from blink_api.kit.passwords import Passwords
from blink_api.kit.ratelimit import RateLimiter
from blink_api.kit.storage import Storage
from blink_api.kit.tokens import Tokens


@dataclass
class AppContext:
    settings: Settings
    database: Database
    passwords: Passwords
    tokens: Tokens
    storage: Storage
    # Image normalisation and PDF rendering share one bound: together they are what costs memory.
    renders: Gate
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)


async def get_context(request: Request) -> AppContext:
    return request.app.state.context


Ctx = Annotated[AppContext, Depends(get_context)]
