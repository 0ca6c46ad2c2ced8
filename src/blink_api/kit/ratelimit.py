"""Request rates per client address, counted in PostgreSQL so that every API process enforces one limit.

The limiter is the generic cell rate algorithm: each (bucket, client) row keeps the moment from which
the client may send again without exceeding its rate ("theoretical arrival time"). `limit` requests
may come at once; after that one request every `period / limit` seconds. One upsert per request
decides and counts, in a transaction of its own, so a request that later fails is still counted.
A refusal is remembered in the process until it runs out, so a flood from one address is answered
429 without a database round trip.

The client address is the ASGI client host: the peer address, or what uvicorn's proxy-headers
handling (`--forwarded-allow-ips`) takes from `X-Forwarded-For` of a trusted proxy. IPv6 clients
are counted per /64 network, which one subscriber usually holds whole.
"""

from __future__ import annotations

import ipaddress
import math
import random
import time
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, String, text
from sqlalchemy.orm import Mapped, mapped_column

from blink_api.kit.config import Settings
from blink_api.kit.db import Base, Database
from blink_api.kit.errors import PROBLEM_MEDIA_TYPE, TooManyRequests

# One in this many hits also deletes rows whose clients may send again (those carry nothing).
_PRUNE_ONE_IN = 200


class RateLimitState(Base):
    """Per bucket and client: from when on the client is within its rate again."""

    __tablename__ = "rate_limits"

    bucket: Mapped[str] = mapped_column(String(40), primary_key=True)
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    allowed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def client_address(request: Request) -> str:
    """The key under which a caller is counted: its IP address (IPv6: its /64 network)."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64] or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


# The row is only advanced when the request is within the rate; the outer SELECT reads the row as it
# was before, which on a refusal tells how long the client has to wait.
_HIT_SQL = text(
    """
    WITH hit AS (
        INSERT INTO rate_limits AS r (bucket, client, allowed_at)
        VALUES (:bucket, :client, now() + make_interval(secs => :interval))
        ON CONFLICT (bucket, client) DO UPDATE
            SET allowed_at = greatest(r.allowed_at, now()) + make_interval(secs => :interval)
            WHERE greatest(r.allowed_at, now()) <= now() + make_interval(secs => :tolerance)
        RETURNING 1
    )
    SELECT EXISTS (SELECT FROM hit) AS admitted,
           (SELECT extract(epoch FROM allowed_at - now()) - :tolerance
              FROM rate_limits WHERE bucket = :bucket AND client = :client) AS wait
    """
)


class RateLimiter:
    """Counts requests in the database; remembers in this process whom it refused, until when."""

    MAX_REMEMBERED = 10_000

    def __init__(self) -> None:
        self._refused_until: dict[tuple[str, str], float] = {}

    async def hit(self, database: Database, bucket: str, client: str, *, limit: int, period: float) -> None:
        """Count one request of `client`; raise TooManyRequests when it exceeds `limit` per `period`."""
        key = (bucket, client)
        refused_until = self._refused_until.get(key)
        if refused_until is not None:
            remaining = refused_until - time.monotonic()
            if remaining > 0:
                raise _too_many(remaining)
            del self._refused_until[key]
        interval = period / limit
        async with database.engine.begin() as conn:
            row = (
                await conn.execute(
                    _HIT_SQL,
                    {
                        "bucket": bucket,
                        "client": client,
                        "interval": interval,
                        "tolerance": period - interval,
                    },
                )
            ).one()
            if random.randrange(_PRUNE_ONE_IN) == 0:  # noqa: S311 - spreading work, not a secret
                await conn.execute(text("DELETE FROM rate_limits WHERE allowed_at < now()"))
        if row.admitted:
            return
        wait = max(float(row.wait or 0), 0.001)
        if len(self._refused_until) >= self.MAX_REMEMBERED:
            self._refused_until.clear()
        self._refused_until[key] = time.monotonic() + wait
        raise _too_many(wait)


def _too_many(wait: float) -> TooManyRequests:
    seconds = max(1, math.ceil(wait))
    return TooManyRequests(
        f"Too many requests from this address; try again in {seconds} seconds.", retry_after=seconds
    )


def per_client(bucket: str, per_minute: Callable[[Settings], int]) -> Any:
    """A dependency allowing each client address `per_minute(settings)` requests a minute in `bucket`."""

    async def limit_rate(request: Request) -> None:
        ctx = request.app.state.context
        await ctx.rate_limiter.hit(
            ctx.database, bucket, client_address(request), limit=per_minute(ctx.settings), period=60.0
        )

    return Depends(limit_rate)


def retry_after_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for problem answers that carry `Retry-After` (429, 503)."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
