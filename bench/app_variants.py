"""Run the application as `blink-api serve` does, with experimental changes applied in memory.

    python bench/app_variants.py --variant gc,core-list serve --host 127.0.0.1 --port 8000

This is how the benchmark measures what a proposed change to src/ would gain before anyone makes it:
the change is patched into the running process, src/ stays untouched. Used by
`python bench/list_tickets.py --app-variant ...`. Variants (comma-separated, any combination):

  stats      no change; only the GC statistics route below
  gc         after start-up, collect once and `gc.freeze()` the long-lived objects (routes, schemas,
             mappers), and raise the generation-0 threshold, so collections stop re-scanning them
  gc-freeze  only the `gc.freeze()` part of `gc` (thresholds unchanged)
  core-list  GET /tickets selects the ticket columns and the creator in one Core query (no ORM
             entities, no selectinload round trip), then builds the same TicketRead items
  async-page the `page_params` dependency as `async def`, so FastAPI does not hand it to a thread
  no-ping    the engine without `pool_pre_ping`: no BEGIN / ping / ROLLBACK before every request

Every variant adds GET /__bench/gc: the collector's work so far (count and CPU seconds per generation).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Query

# Imported here, not in a function: FastAPI resolves the string annotations of `async_page_params`
# against this module's globals. Importing it pulls in no router.
from blink_api import pagination

VARIANTS = ("stats", "gc", "gc-freeze", "core-list", "async-page", "no-ping")

# Cumulative CPU time of the cyclic garbage collector, per generation. Thread CPU time rather than
# wall time: on a loaded machine a collection may be preempted, which is not the collector's cost.
_gc_stats: dict[str, list[float]] = {"count": [0, 0, 0], "seconds": [0.0, 0.0, 0.0]}
_gc_started = 0.0


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    global _gc_started
    if phase == "start":
        _gc_started = time.thread_time()
    else:
        generation = info["generation"]
        _gc_stats["count"][generation] += 1
        _gc_stats["seconds"][generation] += time.thread_time() - _gc_started


async def async_page_params(
    limit: Annotated[int, Query(ge=1, le=pagination.MAX_LIMIT)] = pagination.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> pagination.PageParams:
    """`blink_api.pagination.page_params`, word for word, but a coroutine."""
    return pagination.PageParams(limit=limit, cursor=pagination.decode_cursor(cursor) if cursor else None)


def patch_async_page() -> None:
    """Replace `page_params` before the routers import it (they capture it in `Pagination`)."""
    pagination.page_params = async_page_params  # type: ignore[assignment]
    pagination.Pagination = Annotated[pagination.PageParams, Depends(async_page_params)]  # type: ignore[misc]


def patch_no_ping() -> None:
    """`Database` builds its engine with pool_pre_ping=True; build it without."""
    from blink_api import db

    create = db.create_async_engine

    def create_async_engine(url: str, **kwargs: Any) -> Any:
        return create(url, **{**kwargs, "pool_pre_ping": False})

    db.create_async_engine = create_async_engine  # type: ignore[assignment]


def patch_core_list() -> None:
    """GET /tickets without ORM entities: one SELECT of columns with the creator joined."""
    from sqlalchemy import select, tuple_

    from blink_api.identity.models import Account
    from blink_api.pagination import Page, encode_cursor
    from blink_api.tickets import repository as repo
    from blink_api.tickets import service
    from blink_api.tickets.models import Ticket
    from blink_api.tickets.schemas import Creator, TicketRead

    columns = [c for c in Ticket.__table__.c if c.name not in ("search_public", "search_internal")]

    async def list_tickets(session: Any, principal: Any, page: Any, **filters: Any) -> Page[TicketRead]:
        stmt = (
            select(*columns, Account.kind.label("creator_kind"), Account.name.label("creator_name"))
            .join(Account, Account.id == Ticket.created_by_id)
            .where(repo.ticket_scope(principal))
        )
        stmt = repo.filtered(stmt, principal, **filters)
        if page.cursor is not None:
            stmt = stmt.where(tuple_(Ticket.created_at, Ticket.id) < tuple_(*page.cursor))
        stmt = stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(page.limit + 1)
        rows = (await session.execute(stmt)).all()
        cursor = None
        if len(rows) > page.limit:
            rows = rows[: page.limit]
            cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
        items = [
            TicketRead(
                id=r.id,
                number=r.number,
                tenant_id=r.tenant_id,
                site_id=r.site_id,
                ticket_type_id=r.ticket_type_id,
                title=r.title,
                description=r.description,
                status=r.status,
                assignee_id=r.assignee_id,
                due_date=r.due_date,
                created_by=Creator(kind=r.creator_kind, id=r.created_by_id, name=r.creator_name),
                created_at=r.created_at,
                updated_at=r.updated_at,
                closed_at=r.closed_at,
            )
            for r in rows
        ]
        return Page[TicketRead](items=items, next_cursor=cursor)

    service.list_tickets = list_tickets  # type: ignore[assignment]


def patch_app(variants: set[str]) -> None:
    from blink_api import app as app_module

    original = app_module.create_app

    def create_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)

        async def gc_stats() -> dict[str, Any]:
            return _gc_stats

        app.add_api_route("/__bench/gc", gc_stats, methods=["GET"], include_in_schema=False)
        if variants & {"gc", "gc-freeze"}:
            started = app.router.lifespan_context

            @contextlib.asynccontextmanager
            async def lifespan(app_: Any) -> AsyncIterator[Any]:
                async with started(app_) as state:
                    # Everything alive now lives as long as the process: keep it out of collections.
                    gc.collect()
                    gc.freeze()
                    if "gc" in variants:
                        gc.set_threshold(20_000, 20, 20)
                    yield state

            app.router.lifespan_context = lifespan
        return app

    app_module.create_app = create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="stats", help=f"comma-separated: {', '.join(VARIANTS)}")
    args, rest = parser.parse_known_args()
    variants = {v for v in args.variant.split(",") if v}
    if unknown := variants - set(VARIANTS):
        parser.error(f"unknown variant(s): {', '.join(sorted(unknown))}")
    gc.callbacks.append(_on_gc)
    if "async-page" in variants:
        patch_async_page()  # must precede the routers' import
    if "core-list" in variants:
        patch_core_list()
    if "no-ping" in variants:
        patch_no_ping()
    patch_app(variants)

    from blink_api.cli import main as cli_main

    sys.exit(cli_main(rest))


if __name__ == "__main__":
    main()
