"""`Idempotency-Key` for creating requests: a retry with the same key and body replays the first answer.

The key is claimed by inserting its row in the request's own transaction. A concurrent retry blocks
on that row until the first request commits (then replays its answer) or rolls back (then runs
itself). Rows are kept for 48 hours. An endpoint takes `Idempotent` and creates through its `run`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import DateTime, ForeignKey, Integer, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from blink_api.kit.db import Base, DbSession
from blink_api.kit.errors import Conflict, Invalid

RETENTION_HOURS = 48

Model = TypeVar("Model", bound=BaseModel)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retrying with the same key and body replays the first answer (kept 48 hours).",
    ),
]


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status_code: int
    body: Any


def fingerprint(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()


async def claim(
    session: AsyncSession, account_id: uuid.UUID, key: str, request_fingerprint: str
) -> StoredAnswer | None:
    """Claim `key` for this request; the stored answer when a first request already used it."""
    inserted = await session.scalar(
        text(
            "INSERT INTO idempotency_keys (account_id, key, fingerprint) VALUES (:a, :k, :f)"
            " ON CONFLICT DO NOTHING RETURNING key"
        ),
        {"a": account_id, "k": key, "f": request_fingerprint},
    )
    if inserted is not None:
        return None
    row = (
        await session.execute(
            text(
                "SELECT fingerprint, status_code, body,"
                " created_at > now() - make_interval(hours => :h) AS fresh"
                " FROM idempotency_keys WHERE account_id = :a AND key = :k"
            ),
            {"a": account_id, "k": key, "h": RETENTION_HOURS},
        )
    ).one()
    if not row.fresh:
        # An expired key is free again.
        await session.execute(
            text(
                "UPDATE idempotency_keys SET fingerprint = :f, status_code = NULL, body = NULL,"
                " created_at = now() WHERE account_id = :a AND key = :k"
            ),
            {"a": account_id, "k": key, "f": request_fingerprint},
        )
        return None
    if row.fingerprint != request_fingerprint:
        raise Invalid.at(
            ["header", "Idempotency-Key"],
            "This Idempotency-Key was used with another request body.",
        )
    if row.status_code is None:
        raise Conflict("A request with this Idempotency-Key is still in progress.")
    return StoredAnswer(row.status_code, row.body)


async def remember(
    session: AsyncSession, account_id: uuid.UUID, key: str, status_code: int, body: Any
) -> None:
    await session.execute(
        text(
            "UPDATE idempotency_keys SET status_code = :s, body = CAST(:b AS jsonb)"
            " WHERE account_id = :a AND key = :k"
        ),
        {"a": account_id, "k": key, "s": status_code, "b": body},
    )


async def forget_expired(session: AsyncSession) -> int:
    result = await session.execute(
        text("DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => :h)"),
        {"h": RETENTION_HOURS},
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A creating request's `Idempotency-Key` (absent when the client sent none), ready to run the
    creation at most once per key and caller."""

    session: AsyncSession
    key: str | None
    method: str
    path: str
    # The endpoint's own response: headers set on it while creating (an ETag) go out with the answer.
    response: Response

    async def run(
        self,
        account_id: uuid.UUID,
        parts: Iterable[str | bytes],
        create: Callable[[], Awaitable[Model]],
        *,
        location: Callable[[Any], str],
        status_code: int = 201,
    ) -> Model | Response:
        """Run `create` once per key and caller: a retry with the key and the same `parts` (what the
        request says: its body, the digests of its files) gets the first answer again, with other
        parts 422, and while the first still runs 409.

        `location` names what was created from the answer's JSON body, so that a replayed answer, of
        which only the body is kept, carries the same `Location`. Other headers set while creating
        are not replayed: they may describe a version the resource no longer has.
        """
        if self.key is None:
            result = await create()
            self.response.headers["Location"] = location(jsonable_encoder(result))
            return result
        request_fingerprint = fingerprint(self.method, self.path, *parts)
        stored = await claim(self.session, account_id, self.key, request_fingerprint)
        if stored is not None:
            return JSONResponse(
                stored.body,
                status_code=stored.status_code,
                headers={"Location": location(stored.body), "Idempotent-Replayed": "true"},
            )
        result = await create()
        body = jsonable_encoder(result)
        await remember(self.session, account_id, self.key, status_code, json.dumps(body))
        self.response.headers["Location"] = location(body)
        answer = JSONResponse(body, status_code=status_code)
        answer.raw_headers.extend(self.response.raw_headers)
        return answer


async def idempotency(
    request: Request, response: Response, session: DbSession, key: IdempotencyHeader = None
) -> Idempotency:
    return Idempotency(session, key, request.method, request.url.path, response)


# Nothing is claimed while dependencies resolve: an endpoint checks what it must first (the caller may
# see the ticket, the files are readable) and claims the key only in `run`, right before creating.
Idempotent = Annotated[Idempotency, Depends(idempotency)]
