"""HTTP conventions integrators rely on: `Location` on every 201, the ticket's `ETag` on create and
`If-None-Match` on read, and token answers no cache keeps."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from PIL import Image

from blink_api.kit.etags import none_match
from tests.factories import PASSWORD, World
from tests.forms_helpers import create_template, make_manager, publish, template_body
from tests.kit import API, assert_problem, new_ticket
from tests.test_master_data import CRUD

# -- Location on every 201 ------------------------------------------------------------------------

TEXT_FILE = b"Protokoll der Begehung\n"


Create = Callable[[httpx.AsyncClient, World, Any], Awaitable[tuple[httpx.Response, dict[str, str]]]]


def _master_data(resource: str) -> Create:
    async def create(
        client: httpx.AsyncClient, world: World, ctx: Any
    ) -> tuple[httpx.Response, dict[str, str]]:
        path, make_body, _ = CRUD[resource]
        return await client.post(
            path, json=make_body(world), headers=world.admin.headers
        ), world.admin.headers

    return create


async def _ticket(client, world, ctx):
    body = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Tür klemmt"}
    headers = world.customer_user_x.headers
    return await client.post(f"{API}/tickets", headers=headers, json=body), headers


async def _comment(client, world, ctx):
    ticket = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a)
    headers = world.customer_user_x.headers
    url = f"{API}/tickets/{ticket['id']}/comments"
    return await client.post(url, headers=headers, json={"body": "Bitte bis Freitag."}), headers


async def _attachments(client, world, ctx):
    ticket = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a)
    headers = world.customer_user_x.headers
    files = [
        ("files", ("protokoll.txt", TEXT_FILE, "text/plain")),
        ("files", ("b.txt", b"zwei\n", "text/plain")),
    ]
    return await client.post(
        f"{API}/tickets/{ticket['id']}/attachments", headers=headers, files=files
    ), headers


async def _upload(client, world, ctx):
    headers = world.employee_a.headers
    files = [
        ("files", ("protokoll.txt", TEXT_FILE, "text/plain")),
        ("files", ("b.txt", b"zwei\n", "text/plain")),
    ]
    return await client.post(f"{API}/uploads", headers=headers, files=files), headers


async def _customer_user(client, world, ctx):
    body = {
        "email": "lena.lang@hansa.example.com",
        "name": "Lena Lang",
        "password": "ein sehr langes Passwort",
    }
    headers = world.admin.headers
    return await client.post(
        f"{API}/customers/{world.customer_x.id}/users", headers=headers, json=body
    ), headers


SURVEY = [
    {"key": "name", "type": "text", "label": "Ihr Name", "required": True},
    {"key": "zufrieden", "type": "rating", "label": "Zufriedenheit", "required": True},
]
ANSWERS = {"name": "Frau Weiß", "zufrieden": 4}


async def _template(client, world, ctx):
    manager = await make_manager(ctx, world)
    return await client.post(f"{API}/form-templates", headers=manager.headers, json=template_body(SURVEY)), (
        manager.headers
    )


async def _submission(client, world, ctx):
    manager = await make_manager(ctx, world)
    template = await publish(
        client, manager, (await create_template(client, manager, template_body(SURVEY)))["id"]
    )
    body = {
        "template_id": template["id"],
        "site_id": str(world.site_a1.id),
        "answers": ANSWERS,
        "complete": False,
    }
    return await client.post(f"{API}/form-submissions", headers=manager.headers, json=body), manager.headers


async def _public_submission(client, world, ctx):
    manager = await make_manager(ctx, world)
    draft = await create_template(client, manager, template_body(SURVEY, is_public=True))
    token = (await publish(client, manager, draft["id"]))["public_token"]
    return await client.post(
        f"{API}/public/forms/{token}/submissions", json={"answers": ANSWERS}
    ), manager.headers


async def _api_token(client, world, ctx):
    headers = world.customer_user_x.headers
    body = {"name": "CAFM", "scopes": ["tickets:read"]}
    return await client.post(f"{API}/api-tokens", headers=headers, json=body), headers


async def _webhook(client, world, ctx):
    # A public address literal: checked without resolving anything, and no worker runs here.
    body = {"url": "https://93.184.216.34/hook", "events": ["ticket.created"]}
    return await client.post(f"{API}/webhooks", headers=world.admin.headers, json=body), world.admin.headers


async def _sla_policy(client, world, ctx):
    body = {"tenant_id": str(world.tenant_a.id), "name": "Standard", "resolution_minutes": 480}
    return await client.post(
        f"{API}/sla-policies", headers=world.admin.headers, json=body
    ), world.admin.headers


async def _rating(client, world, ctx):
    ticket = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a)
    r = await client.patch(
        f"{API}/tickets/{ticket['id']}", headers=world.employee_a.headers, json={"status": "closed"}
    )
    assert r.status_code == 200, r.text
    headers = world.customer_user_x.headers
    return await client.post(
        f"{API}/tickets/{ticket['id']}/rating", headers=headers, json={"score": 5}
    ), headers


# Every operation that answers 201, and how to call it; the caller's headers read what it created.
async def _schedule(client, world, ctx):
    body = {
        "tenant_id": str(world.tenant_a.id),
        "name": "Objektbegehung",
        "site_ids": [str(world.site_a1.id)],
        "ticket_type_id": str(world.type_a.id),
        "title": "Objektbegehung",
        "rrule": "FREQ=WEEKLY;BYDAY=MO",
        "timezone": "Europe/Berlin",
        "starts_on": "2026-01-05",
        "lead_days": 0,
        "active": False,
    }
    return await client.post(f"{API}/schedules", headers=world.admin.headers, json=body), world.admin.headers


CREATORS: dict[str, Create] = {
    "tickets_create": _ticket,
    "tickets_create_comment": _comment,
    "tickets_create_attachments": _attachments,
    "tickets_rate": _rating,  # the rating is read as part of the ticket
    "uploads_create": _upload,
    "sites_create": _master_data("sites"),
    "tenants_create": _master_data("tenants"),
    "ticket_types_create": _master_data("ticket-types"),
    "customers_create": _master_data("customers"),
    "employees_create": _master_data("employees"),
    "permission_groups_create": _master_data("permission-groups"),
    "customers_create_user": _customer_user,
    "form_templates_create": _template,
    "form_submissions_create": _submission,
    "public_forms_submit": _public_submission,
    "api_tokens_create": _api_token,
    "webhooks_create": _webhook,
    "sla_policies_create": _sla_policy,
    "schedules_create": _schedule,
}


def _created_operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        operation["operationId"]: operation["responses"]["201"]
        for operations in document["paths"].values()
        for operation in operations.values()
        if "201" in operation["responses"]
    }


def test_every_201_documents_location_and_is_exercised_here(app):
    created = _created_operations(app.openapi())
    # A new creating route fails here until it sends `Location` and a case above proves it.
    assert set(created) == set(CREATORS)
    for name, response in created.items():
        header = response.get("headers", {}).get("Location")
        assert header and header["required"] is True and header["description"], name


@pytest.mark.parametrize("operation", list(CREATORS))
async def test_a_201_names_where_the_created_resource_is_read(client, world, ctx, portal, operation):
    r, reader = await CREATORS[operation](client, world, ctx)
    assert r.status_code == 201, r.text
    where = r.headers["location"]
    # A path on this server (resolved against the request's URL), never a host the client sent.
    assert where.startswith(f"{API}/") and "://" not in where, where
    found = await client.get(where, headers=reader)
    assert found.status_code == 200, found.text
    created = r.json()
    if "items" in created:  # several files: the first one's content
        first = created["items"][0]
        assert where == f"{API}/attachments/{first['id']}/content"
        assert found.content == TEXT_FILE
    else:
        assert where.endswith(f"/{created['id']}")
        assert found.json()["id"] == created["id"]


async def test_an_idempotent_create_names_the_same_location_when_replayed(client, world):
    url = f"{API}/tickets"
    headers = {**world.employee_a.headers, "Idempotency-Key": "create-1"}
    body = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Leck"}
    first = await client.post(url, headers=headers, json=body)
    assert first.status_code == 201, first.text
    assert first.headers["location"] == f"{API}/tickets/{first.json()['id']}"
    assert first.headers["etag"] == '"1"'
    assert "idempotent-replayed" not in first.headers

    replay = await client.post(url, headers=headers, json=body)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["location"] == first.headers["location"]
    # The ticket may have changed since: a replayed copy names no version a PATCH could rely on.
    assert "etag" not in replay.headers


async def test_a_replayed_comment_and_attachment_keep_their_location(client, world):
    ticket = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    headers = {**world.employee_a.headers, "Idempotency-Key": "comment-1"}
    url = f"{API}/tickets/{ticket['id']}/comments"
    first = await client.post(url, headers=headers, json={"body": "Erledigt."})
    replay = await client.post(url, headers=headers, json={"body": "Erledigt."})
    assert first.status_code == replay.status_code == 201
    assert replay.headers["location"] == first.headers["location"] == f"{url}/{first.json()['id']}"

    headers = {**world.employee_a.headers, "Idempotency-Key": "files-1"}
    url = f"{API}/tickets/{ticket['id']}/attachments"
    files = [("files", ("protokoll.txt", TEXT_FILE, "text/plain"))]
    first = await client.post(url, headers=headers, files=files)
    replay = await client.post(url, headers=headers, files=files)
    assert first.status_code == replay.status_code == 201
    attachment_id = first.json()["items"][0]["id"]
    assert (
        replay.headers["location"]
        == first.headers["location"]
        == f"{API}/attachments/{attachment_id}/content"
    )


async def test_a_refused_create_names_no_location(client, world):
    # A customer user may not set the status: nothing is created, so nothing is named.
    body = {
        "site_id": str(world.site_a1.id),
        "ticket_type_id": str(world.type_a.id),
        "title": "Leck",
        "status": "closed",
    }
    r = await client.post(f"{API}/tickets", headers=world.customer_user_x.headers, json=body)
    assert_problem(r, 403)
    assert "location" not in r.headers and "etag" not in r.headers


# -- the ticket's ETag: on create, and If-None-Match on read -------------------------------------


async def test_the_create_answer_carries_the_etag_a_patch_can_use(client, world):
    h = world.employee_a.headers
    r = await client.post(
        f"{API}/tickets",
        headers=h,
        json={"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Eins"},
    )
    assert r.status_code == 201
    etag = r.headers["etag"]
    assert (await client.get(r.headers["location"], headers=h)).headers["etag"] == etag
    patched = await client.patch(
        r.headers["location"], headers={**h, "If-Match": etag}, json={"title": "Zwei"}
    )
    assert patched.status_code == 200, patched.text


async def test_a_multipart_create_carries_the_etag_too(client, world, portal):
    h = world.customer_user_x.headers
    data = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Mit Foto"}
    r = await client.post(
        f"{API}/tickets", headers=h, data=data, files=[("files", ("p.txt", TEXT_FILE, "text/plain"))]
    )
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == (await client.get(r.headers["location"], headers=h)).headers["etag"]


def assert_not_modified(r: httpx.Response, etag: str) -> None:
    assert r.status_code == 304, r.text
    assert r.content == b""
    assert "content-type" not in r.headers
    # A 304 repeats the validator a 200 would carry (RFC 9110 §15.4.5).
    assert r.headers["etag"] == etag


@pytest.fixture
async def ticket_url(client, world, portal) -> str:
    ticket = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a)
    return f"{API}/tickets/{ticket['id']}"


@pytest.mark.parametrize(
    "field",
    [
        '"1"',
        "*",  # any current version (RFC 9110 §13.1.2)
        '"7", "1"',  # one of a list
        '"7","1"',
        '"a,b", "1"',  # a comma inside a tag is part of the tag
        '"7", , "1",',  # empty list elements are allowed
        'W/"1"',  # If-None-Match compares weakly: W/"1" names "1"
    ],
)
async def test_if_none_match_naming_the_current_version_is_304(client, world, ticket_url, field):
    h = world.customer_user_x.headers
    assert_not_modified(await client.get(ticket_url, headers={**h, "If-None-Match": field}), '"1"')


@pytest.mark.parametrize(
    "field",
    [
        '"2"',
        '"7", "8"',
        "1",  # not quoted: not an entity tag
        '"1',  # unclosed
        'w/"1"',  # the weak prefix is case-sensitive
        'W/ "1"',
        '"1" "2"',  # a list needs its commas
        '"1", garbage',  # one bad element makes the whole field unreadable
        '*, "1"',  # `*` stands alone
        '"1"*',
        "",
        "\t",
        '"1\x7f"',
    ],
)
async def test_if_none_match_that_names_another_version_or_nothing_readable_gets_the_ticket(
    client, world, ticket_url, field
):
    # A field we cannot read is ignored: the full answer is always safe, a wrong 304 never is.
    h = world.customer_user_x.headers
    r = await client.get(ticket_url, headers={**h, "If-None-Match": field})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == ticket_url.rsplit("/", 1)[1]
    assert r.headers["etag"] == '"1"'


async def test_if_none_match_sent_on_several_lines_is_one_list(client, world, ticket_url):
    h = world.customer_user_x.headers
    headers = [*h.items(), ("If-None-Match", '"5"'), ("If-None-Match", '"1"')]
    assert_not_modified(await client.get(ticket_url, headers=headers), '"1"')


async def test_a_stale_etag_gets_the_changed_ticket(client, world, ticket_url):
    h = world.employee_a.headers
    old = (await client.get(ticket_url, headers=h)).headers["etag"]
    changed = await client.patch(ticket_url, headers={**h, "If-Match": old}, json={"title": "Neu"})
    assert changed.status_code == 200
    r = await client.get(ticket_url, headers={**h, "If-None-Match": old})
    assert r.status_code == 200 and r.json()["title"] == "Neu"
    assert r.headers["etag"] == changed.headers["etag"] != old
    assert_not_modified(
        await client.get(ticket_url, headers={**h, "If-None-Match": r.headers["etag"]}), r.headers["etag"]
    )


@pytest.mark.parametrize(
    ("field", "status"),
    [
        ('"1"', 200),
        ('"7", "1"', 200),  # any tag of the list may be the current one
        ("*", 200),
        ('W/"1"', 412),  # If-Match compares strongly: a weak tag never matches
        ('"7"', 412),
        ("1", 412),  # not an entity tag: nothing we can read is current
        ('"1', 412),
        ('"1", *', 412),
    ],
)
async def test_if_match_takes_a_list_of_strong_tags(client, world, ticket_url, field, status):
    h = world.employee_a.headers
    r = await client.patch(ticket_url, headers={**h, "If-Match": field}, json={"title": "Neu"})
    assert r.status_code == status, r.text
    title = (await client.get(ticket_url, headers=h)).json()["title"]
    assert title == ("Neu" if status == 200 else "Fenster verschmutzt")
    if status == 412:
        assert_problem(r, 412)


async def test_if_match_sent_on_several_lines_is_one_list(client, world, ticket_url):
    headers = [*world.employee_a.headers.items(), ("If-Match", '"5"'), ("If-Match", '"1"')]
    r = await client.patch(ticket_url, headers=headers, json={"title": "Neu"})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'


async def test_if_none_match_tells_nothing_about_tickets_out_of_scope(client, world, ticket_url):
    # `*` would answer 304 for any ticket that exists; out of scope it must stay a plain 404/401.
    outsider = await client.get(ticket_url, headers={**world.customer_user_y.headers, "If-None-Match": "*"})
    missing = await client.get(
        f"{API}/tickets/{uuid.uuid4()}", headers={**world.customer_user_y.headers, "If-None-Match": "*"}
    )
    assert_problem(outsider, 404)
    assert_problem(missing, 404)
    assert outsider.json()["detail"] == missing.json()["detail"]
    assert_problem(await client.get(ticket_url, headers={"If-None-Match": "*"}), 401)


def test_none_match_reads_a_header_of_any_size_without_backtracking():
    field = ", ".join(f'"{n}"' for n in range(5000)) + ", , ,"
    assert none_match(field, '"4999"')
    assert not none_match(field + "x", '"4999"')
    assert not none_match('"' + "a" * 60_000, '"1"')


def test_tickets_read_documents_if_none_match_and_304(app):
    operation = app.openapi()["paths"]["/api/v1/tickets/{ticket_id}"]["get"]
    assert "If-None-Match" in [p["name"] for p in operation["parameters"] if p["in"] == "header"]
    not_modified = operation["responses"]["304"]
    assert "content" not in not_modified and "ETag" in not_modified["headers"]
    created = app.openapi()["paths"]["/api/v1/tickets"]["post"]["responses"]["201"]["headers"]
    assert {"Location", "ETag"} <= created.keys()


# -- token answers are never stored ---------------------------------------------------------------


async def test_a_token_answer_is_not_kept_by_any_cache(client, world):
    r = await client.post(
        f"{API}/auth/token", data={"username": world.employee_a.email, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    assert r.json()["access_token"]
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"


def test_the_token_answer_documents_its_cache_headers(app):
    headers = app.openapi()["paths"]["/api/v1/auth/token"]["post"]["responses"]["200"]["headers"]
    assert {"Cache-Control", "Pragma"} <= headers.keys()


async def test_large_answers_are_gzipped_for_clients_that_accept_it(client):
    zipped = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(zipped.content) / 4  # httpx decoded it
    assert "accept-encoding" in zipped.headers["vary"].lower()
    plain = await client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.json() == zipped.json()


async def test_small_answers_and_compressed_media_are_sent_as_they_are(client, world, portal):
    small = await client.get("/health/live", headers={"Accept-Encoding": "gzip"})
    assert small.status_code == 200 and "content-encoding" not in small.headers
    ticket = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a)
    noise = io.BytesIO()
    Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3)).save(noise, "PNG")
    headers = world.customer_user_x.headers
    files = [("files", ("rauschen.png", noise.getvalue(), "image/png"))]
    r = await client.post(f"{API}/tickets/{ticket['id']}/attachments", headers=headers, files=files)
    [attachment] = r.json()["items"]
    r = await client.get(
        f"{API}/attachments/{attachment['id']}/content", headers={**headers, "Accept-Encoding": "gzip"}
    )
    assert r.status_code == 200 and len(r.content) > 1024
    assert "content-encoding" not in r.headers
