"""Run the application as `blink-api serve` does, with a measuring route added in memory.

    python bench/app_variants.py --variant stats serve --host 127.0.0.1 --port 8000

Used by `python bench/list_tickets.py --app-variant stats` and `bench/list_serialisation.py`.

- `stats` changes nothing but adds GET /__bench/gc: the garbage collector's work so far (count and
  CPU seconds per generation).
- `rows` serialises the ticket list with pydantic-core instead of having PostgreSQL write its JSON:
  the same statement (`ticket_page_select`, compiled once per shape) reads the columns of the ticket
  read projection (`tickets.repository.TICKET_READ`) as plain rows, each row becomes a dict in the
  projection's order (the creator nested), and pydantic-core writes the page by the schema of
  `TicketRead` (a TypeAdapter over a TypedDict with its fields; no model is built or validated).
  The bytes are the same (`list_serialisation.py` checks it). Of the ways tried, this is the
  cheapest: `pydantic_core.to_json`, which guesses each value's type, took more than twice as long
  for a page, validating into `TicketRead` first longer still.

The experimental changes this file used to patch in (frozen start-up objects and fewer young
collections, a list without ORM objects, an async page dependency, no pool pre-ping) were measured
here first and are in src/ now.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

VARIANTS = ("stats", "rows")

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


def patch_app() -> None:
    from blink_api import app as app_module

    original = app_module.create_app

    def create_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)

        async def gc_stats() -> dict[str, Any]:
            return _gc_stats

        app.add_api_route("/__bench/gc", gc_stats, methods=["GET"], include_in_schema=False)
        return app

    app_module.create_app = create_app


def patch_rows() -> None:
    """The ticket list serialised by pydantic-core over plain rows (see the module's docstring)."""
    import functools
    from collections.abc import Mapping

    from pydantic import BaseModel, TypeAdapter
    from typing_extensions import TypedDict

    from blink_api.kit.compiled import DriverStatement, driver_connection
    from blink_api.kit.pagination import PageParams, page_of
    from blink_api.kit.projection import Nested
    from blink_api.tickets import repository as repo
    from blink_api.tickets import service
    from blink_api.tickets.models import Ticket
    from blink_api.tickets.schemas import TicketRead

    def typed(model: Any) -> Any:
        """`model`'s fields as a TypedDict (nested models likewise): pydantic-core then serialises a
        dict by a known schema, more than twice as fast as guessing each value's type (`to_json`)."""
        fields = {}
        for name, info in model.model_fields.items():
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                annotation = typed(annotation)
            fields[name] = annotation
        return TypedDict(f"{model.__name__}Row", fields)  # type: ignore[operator]

    page_of_rows = TypeAdapter(
        TypedDict("PageRow", {"items": list[typed(TicketRead)], "next_cursor": str | None})
    )

    # The projection's columns in its order, a nested object's as `<field>__<its field>`; the plan
    # says which field takes one column and which a nested object of several.
    columns: list[Any] = []
    plan: list[tuple[str, tuple[str, ...] | None]] = []
    for name, field in repo.TICKET_READ.fields.items():
        if isinstance(field, Nested):
            nested = tuple(field.projection.fields)
            columns += [column.label(f"{name}__{sub}") for sub, column in field.projection.fields.items()]
            plan.append((name, nested))
        else:
            columns.append(field.label(name))
            plan.append((name, None))
    width = len(columns)

    @functools.lru_cache(maxsize=512)
    def statement(shape: Any, filters: frozenset[str], with_cursor: bool) -> DriverStatement:
        select = repo.ticket_page_select(shape, filters, with_cursor)
        return DriverStatement(select.with_only_columns(*columns, Ticket.created_at, Ticket.id))

    def item(row: Any) -> dict[str, Any]:
        values = iter(row[:width])
        return {
            name: next(values) if nested is None else {sub: next(values) for sub in nested}
            for name, nested in plan
        }

    async def list_tickets(
        session: Any, principal: Any, page: PageParams, filters: Mapping[str, Any]
    ) -> bytes:
        shape, params = repo._scope_of(principal)
        if shape.kind == "nothing":
            found: list[Any] = []
        else:
            params |= filters
            params["limit"] = page.limit + 1
            if page.cursor is not None:
                params["cursor_created_at"], params["cursor_id"] = page.cursor
            stmt = statement(shape, frozenset(filters), page.cursor is not None)
            found = await stmt.fetch(await driver_connection(session), params)
        rows, cursor = page_of(found, page, created_at="created_at", id_="id")
        return page_of_rows.dump_json({"items": [item(row) for row in rows], "next_cursor": cursor})

    service.list_tickets = list_tickets  # type: ignore[assignment]


def main() -> None:
    import gc

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="stats", help=f"comma-separated: {', '.join(VARIANTS)}")
    args, rest = parser.parse_known_args()
    variants = {v for v in args.variant.split(",") if v}
    if unknown := variants - set(VARIANTS):
        parser.error(f"unknown variant(s): {', '.join(sorted(unknown))}")
    gc.callbacks.append(_on_gc)
    patch_app()
    if "rows" in variants:
        patch_rows()

    from blink_api.cli import main as cli_main

    sys.exit(cli_main(rest))


if __name__ == "__main__":
    main()
