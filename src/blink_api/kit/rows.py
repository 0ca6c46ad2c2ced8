"""Small helpers every domain's repository and service share."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.kit.errors import Conflict, Invalid, NotFound

M = TypeVar("M")


async def one_or_404(session: AsyncSession, stmt: Select[Any], what: str) -> Any:
    obj = (await session.scalars(stmt)).unique().first()
    if obj is None:
        raise NotFound(f"{what} not found.")
    return obj


async def delete_or_409(session: AsyncSession, obj: Any, what: str) -> None:
    """Delete; a row still referenced elsewhere (a RESTRICT foreign key) answers 409."""
    try:
        async with session.begin_nested():
            await session.delete(obj)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{what} is still in use and cannot be deleted.") from exc


async def flush_unique(session: AsyncSession, message: str) -> None:
    """Flush; a unique-constraint violation answers 409 with `message`."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(message) from exc


def apply_changes(obj: Any, body: BaseModel, *, skip: set[str] | None = None) -> dict[str, Any]:
    """Copy the fields the client sent onto `obj`; returns what changed as {field: (old, new)}."""
    changes: dict[str, Any] = {}
    for field, value in body.model_dump(exclude_unset=True).items():
        if skip and field in skip:
            continue
        old = getattr(obj, field)
        if old != value:
            setattr(obj, field, value)
            changes[field] = (old, value)
    return changes


async def require_exists(
    session: AsyncSession, model: Any, id_: uuid.UUID, loc: list[str | int], what: str
) -> None:
    """A referenced id must name an existing row, else 422 at `loc`."""
    if not await session.scalar(select(exists().where(model.id == id_))):
        raise Invalid.at(loc, f"No {what} with this id exists.")


async def require_all_exist(
    session: AsyncSession, model: Any, ids: list[uuid.UUID], loc: list[str | int], what: str
) -> list[Any]:
    if not ids:
        return []
    rows = list((await session.scalars(select(model).where(model.id.in_(ids)))).all())
    found = {r.id for r in rows}
    for index, id_ in enumerate(ids):
        if id_ not in found:
            raise Invalid.at([*loc, index], f"No {what} with this id exists.")
    return rows
