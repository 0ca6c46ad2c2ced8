"""What most tests share: the API prefix, the check of a problem answer, and a ticket made over HTTP.

Callers of every kind (admin, plain employee, customer user, anonymous, ...) live in the `world`
fixture (tests/factories.py `World`): send a request as one with `headers=world.employee_a.headers`,
and run one test as each kind with `@pytest.mark.parametrize("caller", [...])` plus
`{} if caller == "anonymous" else getattr(world, caller).headers`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import httpx
from sqlalchemy import event

from tests.factories import Actor

API = "/api/v1"
PROBLEM = "application/problem+json"


def assert_problem(r: httpx.Response, status: int, loc: list[Any] | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with exactly this status and every field filled in, without a stack trace.

    With `loc`, one of its `errors` names exactly this field path.
    """
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers["content-type"]
    assert "Traceback" not in r.text
    body = r.json()
    assert body["status"] == status, body
    for field in ("type", "title", "detail", "instance"):
        assert isinstance(body.get(field), str) and body[field].strip(), (field, body)
    # `instance` is the path percent-encoded (a URI reference); httpx shows the path decoded.
    assert unquote(body["instance"]) == r.request.url.path, body
    if loc is not None:
        assert loc in [e["loc"] for e in body.get("errors") or []], body
    return body


async def new_ticket(
    client: httpx.AsyncClient,
    caller: Actor | dict[str, str],
    site: Any,
    ticket_type: Any,
    title: str = "Fenster verschmutzt",
    **fields: Any,
) -> dict[str, Any]:
    """A ticket `caller` (an actor, or its headers) creates at `site`; more fields as the API names them."""
    headers = caller.headers if isinstance(caller, Actor) else caller
    body = {"site_id": str(site.id), "ticket_type_id": str(ticket_type.id), "title": title, **fields}
    r = await client.post(f"{API}/tickets", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


@contextlib.asynccontextmanager
async def statements_sent(database: Any) -> AsyncIterator[list[str]]:
    """The statements sent to PostgreSQL while the block runs: through SQLAlchemy, and on the asyncpg
    connection directly (the compiled reads of `blink_api.kit.compiled`); both are counted."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    def log_driver_query(record: Any) -> None:
        # asyncpg looks up unfamiliar parameter types once per connection (with JIT switched off
        # meanwhile): connection set-up, not a cost of the request.
        if not any(mark in record.query for mark in ("typeinfo_tree", "'jit'")):
            statements.append(record.query)

    watched: list[Any] = []

    def watch(dbapi_connection, connection_record, connection_proxy):  # type: ignore[no-untyped-def]
        dbapi_connection.driver_connection.add_query_logger(log_driver_query)
        watched.append(dbapi_connection.driver_connection)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    event.listen(database.engine.sync_engine.pool, "checkout", watch)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
        event.remove(database.engine.sync_engine.pool, "checkout", watch)
        for connection in watched:
            connection.remove_query_logger(log_driver_query)
