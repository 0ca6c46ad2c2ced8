"""Keyset pagination shared by every list: `{items, next_cursor}`, newest first on (`created_at`, `id`).

A list that offers other orders (the ticket list's `sort`) pages on another timestamp the same way
and marks its cursors with the order (`encode_cursor(..., order=...)`); a list with only the
default order refuses a marked cursor."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from blink_api.kit.errors import Invalid
from blink_api.kit.schema import check_instant

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int = DEFAULT_LIMIT
    cursor: tuple[datetime, uuid.UUID] | None = None
    # The order the cursor was handed out under; None: the list's default order.
    cursor_order: str | None = None


def encode_cursor(created_at: datetime, id_: uuid.UUID, order: str | None = None) -> str:
    """The cursor after the row at (`created_at`, `id_`); `order` names a list order other than the
    default one (the timestamp is then that order's)."""
    values = [created_at.isoformat(), str(id_)]
    if order is not None:
        values.append(order)
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID, str | None]:
    """The timestamp, id and order (None: the default) of a cursor `encode_cursor` wrote; 422 else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at_text, id_text, *rest = json.loads(raw)
        order = rest.pop() if len(rest) == 1 else None
        if rest or not (order is None or isinstance(order, str)):
            raise ValueError("not a cursor")
        # Only what `encode_cursor` writes: an aware timestamp within the range the database holds.
        created_at = check_instant(datetime.fromisoformat(created_at_text))
        return created_at, uuid.UUID(id_text), order
    except (ValueError, TypeError, binascii.Error) as exc:
        raise Invalid.at(["query", "cursor"], "The cursor is not one this API handed out.") from exc


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="`next_cursor` of the previous page, as handed out (opaque).",
        ),
    ] = None,
) -> PageParams:
    if not cursor:
        return PageParams(limit=limit)
    created_at, id_, order = decode_cursor(cursor)
    return PageParams(limit=limit, cursor=(created_at, id_), cursor_order=order)


Pagination = Annotated[PageParams, Depends(page_params)]


def keyset_window(
    stmt: Select[Any],
    params: PageParams,
    *,
    created_at: InstrumentedAttribute[datetime],
    id_: InstrumentedAttribute[uuid.UUID],
) -> Select[Any]:
    """`stmt` narrowed to one page plus one row (to know whether another page follows), newest first."""
    if params.cursor_order is not None:
        raise Invalid.at(["query", "cursor"], "This cursor belongs to a list in another order.")
    if params.cursor is not None:
        stmt = stmt.where(tuple_(created_at, id_) < tuple_(*params.cursor))
    return stmt.order_by(created_at.desc(), id_.desc()).limit(params.limit + 1)


def page_of(
    found: Sequence[Any], params: PageParams, *, created_at: str, id_: str, order: str | None = None
) -> tuple[Sequence[Any], str | None]:
    """The page's rows and the cursor of the next page (None on the last page), marked with `order`.

    Rows are anything with the two attributes: ORM objects, SQLAlchemy rows, `kit.compiled.DriverRow`.
    `created_at` names the timestamp the list is ordered by.
    """
    if len(found) <= params.limit:
        return found, None
    found = found[: params.limit]
    last = found[-1]
    return found, encode_cursor(getattr(last, created_at), getattr(last, id_), order)


def page_json(items: Sequence[str], next_cursor: str | None) -> bytes:
    """The JSON of a `Page` whose items are JSON text already."""
    cursor = "null" if next_cursor is None else json.dumps(next_cursor)
    return f'{{"items":[{",".join(items)}],"next_cursor":{cursor}}}'.encode()


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    params: PageParams,
    *,
    created_at: InstrumentedAttribute[datetime],
    id_: InstrumentedAttribute[uuid.UUID],
) -> tuple[Sequence[Any], str | None]:
    """Run `stmt` (ORM entities) for one page; newest first, with the cursor of the next page."""
    stmt = keyset_window(stmt, params, created_at=created_at, id_=id_)
    found = (await session.scalars(stmt)).unique().all()
    return page_of(found, params, created_at=created_at.key, id_=id_.key)
