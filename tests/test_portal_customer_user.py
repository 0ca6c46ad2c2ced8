"""What a customer user can and cannot do: tickets, comments, attachments, site documents and evaluation."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text

from tests.factories import World, make_customer_user, make_employee, make_ticket_type
from tests.kit import API, assert_problem, new_ticket

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
UTC = dt.UTC


def image_bytes(fmt: str = "PNG", color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), color).save(buffer, format=fmt)
    return buffer.getvalue()


async def enable(
    client, world: World, types: list[Any], sources: list[dict] | None = None, customer: Any = None
) -> dict[str, Any]:
    customer = customer or world.customer_x
    r = await client.put(
        f"{API}/customers/{customer.id}/ticket-settings",
        headers=world.admin.headers,
        json={"enabled_ticket_type_ids": [str(t.id) for t in types], "document_sources": sources or []},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def evaluation_settings(client, world: World, enabled: bool, group_days: int = 7) -> None:
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/evaluation-settings",
        headers=world.admin.headers,
        json={"ticket_evaluation_enabled": enabled, "group_days": group_days},
    )
    assert r.status_code == 200, r.text


async def comment(client, headers, ticket_id: str, body: str, internal: bool = False) -> dict:
    r = await client.post(
        f"{API}/tickets/{ticket_id}/comments", headers=headers, json={"body": body, "internal": internal}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def attach(client, headers, ticket_id: str, name: str, data: bytes, content_type: str) -> dict:
    r = await client.post(
        f"{API}/tickets/{ticket_id}/attachments",
        headers=headers,
        files=[("files", (name, data, content_type))],
    )
    assert r.status_code == 201, r.text
    return r.json()["items"][0]


async def ids(client, headers, path: str, **params) -> list[str]:
    r = await client.get(f"{API}{path}", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


async def employee_view(client, world: World, ticket_id: str) -> dict[str, Any]:
    """The ticket as its tenant's employee sees it: the yardstick for "nothing changed"."""
    h = world.employee_a.headers
    view = {}
    for key, path in {
        "ticket": f"/tickets/{ticket_id}",
        "comments": f"/tickets/{ticket_id}/comments",
        "attachments": f"/tickets/{ticket_id}/attachments",
        "history": f"/tickets/{ticket_id}/history",
    }.items():
        r = await client.get(f"{API}{path}", headers=h)
        assert r.status_code == 200, r.text
        view[key] = r.json()
    return view


async def other_customer_user_x(session, ctx, world: World, sites: list[Any]):
    actor = await make_customer_user(
        session, ctx, customer=world.customer_x, sites=sites, email=f"{uuid.uuid4().hex[:8]}@hansa.test"
    )
    await session.commit()
    return actor


# -- sites and ticket types ---------------------------------------------------------------------------


async def test_sites_are_the_assigned_ones_only(client, world):
    cux = world.customer_user_x.headers
    assert await ids(client, cux, "/sites") == [str(world.site_a1.id)]
    # Filters cannot widen the scope.
    assert await ids(client, cux, "/sites", customer_id=world.customer_x.id) == [str(world.site_a1.id)]
    assert await ids(client, cux, "/sites", tenant_id=world.tenant_b.id) == []
    r = await client.get(f"{API}/sites/{world.site_a1.id}", headers=cux)
    assert r.status_code == 200 and r.json()["name"] == "Speicherstadt"
    assert_problem(await client.get(f"{API}/sites/{world.site_a2.id}", headers=cux), 404)
    assert_problem(await client.get(f"{API}/sites/{world.site_b1.id}", headers=cux), 404)
    assert await ids(client, world.customer_user_x2.headers, "/sites") == []


async def test_site_ticket_types_are_the_enabled_types_of_the_sites_tenant(client, world, session):
    extra_a = await make_ticket_type(session, tenant=world.tenant_a, name="Nachreinigung")
    not_enabled_a = await make_ticket_type(session, tenant=world.tenant_a, name="Intern")
    await session.commit()
    await enable(client, world, [world.type_a, extra_a, world.type_b])
    cux = world.customer_user_x.headers
    got = await ids(client, cux, f"/sites/{world.site_a1.id}/ticket-types")
    # Tenant B's type is enabled too, but site A1 belongs to tenant A.
    assert sorted(got) == sorted([str(world.type_a.id), str(extra_a.id)])
    assert str(not_enabled_a.id) not in got and str(world.absence_a.id) not in got
    assert_problem(await client.get(f"{API}/sites/{world.site_a2.id}/ticket-types", headers=cux), 404)
    # An employee of the tenant gets every type of it, absence types included.
    emp = await ids(client, world.employee_a.headers, f"/sites/{world.site_a1.id}/ticket-types")
    assert str(not_enabled_a.id) in emp and str(world.absence_a.id) in emp


async def test_without_an_enabled_type_there_is_no_ticket_access(client, world):
    cux = world.customer_user_x.headers
    t = await new_ticket(client, world.employee_a.headers, world.site_a1, world.type_a, "Treppenhaus")
    assert await ids(client, cux, "/tickets") == []
    assert_problem(await client.get(f"{API}/tickets/{t['id']}", headers=cux), 404)
    assert_problem(await client.get(f"{API}/tickets/{t['id']}/comments", headers=cux), 404)
    assert await ids(client, cux, f"/sites/{world.site_a1.id}/ticket-types") == []
    r = await client.post(
        f"{API}/tickets",
        headers=cux,
        json={"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Neu"},
    )
    # SPEC names no code for a type not enabled for the customer: the service answers 422 (invalid input).
    assert r.status_code == 422, r.text
    assert await ids(client, world.employee_a.headers, "/tickets") == [t["id"]]

    await enable(client, world, [world.type_a])
    assert await ids(client, cux, "/tickets") == [t["id"]]


# -- seeing tickets ----------------------------------------------------------------------------------


async def test_sees_every_enabled_ticket_on_its_sites_whoever_created_it(client, world, session, ctx):
    other_type = await make_ticket_type(session, tenant=world.tenant_a, name="Intern")
    await session.commit()
    colleague = await other_customer_user_x(session, ctx, world, [world.site_a1, world.site_a2])
    await enable(client, world, [world.type_a, world.type_b])
    await enable(client, world, [world.type_b], customer=world.customer_y)
    emp = world.employee_a.headers

    by_employee = await new_ticket(client, emp, world.site_a1, world.type_a, "Vom Mitarbeiter")
    by_itself = await new_ticket(client, world.customer_user_x.headers, world.site_a1, world.type_a, "Selbst")
    by_colleague = await new_ticket(client, colleague.headers, world.site_a1, world.type_a, "Vom Kollegen")
    hidden = [
        await new_ticket(client, emp, world.site_a1, other_type, "Nicht freigegebener Typ"),
        await new_ticket(client, emp, world.site_a2, world.type_a, "Anderes Objekt"),
        await new_ticket(client, colleague.headers, world.site_a2, world.type_a, "Kollege, anderes Objekt"),
        await new_ticket(client, world.customer_user_y.headers, world.site_b1, world.type_b, "Anderer Kunde"),
    ]
    cux = world.customer_user_x.headers
    visible = {by_employee["id"], by_itself["id"], by_colleague["id"]}
    assert set(await ids(client, cux, "/tickets")) == visible
    for t in (by_employee, by_itself, by_colleague):
        r = await client.get(f"{API}/tickets/{t['id']}", headers=cux)
        assert r.status_code == 200 and r.json()["title"] == t["title"], r.text
    for t in hidden:
        assert_problem(await client.get(f"{API}/tickets/{t['id']}", headers=cux), 404)
    # Filters narrow, never widen.
    assert await ids(client, cux, "/tickets", site_id=world.site_a2.id) == []
    assert await ids(client, cux, "/tickets", ticket_type_id=other_type.id) == []
    assert await ids(client, cux, "/tickets", q="Objekt") == []
    # The second user of the same customer without any site sees nothing at all.
    assert await ids(client, world.customer_user_x2.headers, "/tickets") == []


async def test_ticket_shows_who_created_it_without_email(client, world):
    await enable(client, world, [world.type_a])
    t = await new_ticket(client, world.employee_a.headers, world.site_a1, world.type_a)
    r = await client.get(f"{API}/tickets/{t['id']}", headers=world.customer_user_x.headers)
    assert r.json()["created_by"]["kind"] == "employee"
    assert r.json()["created_by"]["id"] == str(world.employee_a.id)
    assert world.employee_a.email not in r.text


# -- creating tickets --------------------------------------------------------------------------------


async def test_create_ticket_title_only(client, world):
    await enable(client, world, [world.type_a])
    t = await new_ticket(client, world.customer_user_x.headers, world.site_a1, world.type_a, "Nur ein Titel")
    assert t["description"] is None and t["status"] == "open" and t["assignee_id"] is None
    assert t["site_id"] == str(world.site_a1.id) and t["tenant_id"] == str(world.tenant_a.id)
    assert t["created_by"] == {
        "kind": "customer_user",
        "id": str(world.customer_user_x.id),
        "name": "Kim Customer",
    }
    # The employees of the tenant see it too.
    assert t["id"] in await ids(client, world.employee_a.headers, "/tickets")


async def test_create_ticket_with_photo_and_attachment_in_one_request(client, world):
    await enable(client, world, [world.type_a])
    cux = world.customer_user_x.headers
    photo = image_bytes("PNG")
    r = await client.post(
        f"{API}/tickets",
        headers=cux,
        data={
            "site_id": str(world.site_a1.id),
            "ticket_type_id": str(world.type_a.id),
            "title": "Wasserfleck an der Decke",
            "description": "Im Flur, 3. OG",
        },
        files=[
            ("files", ("decke.png", photo, "image/png")),
            ("files", ("protokoll.pdf", PDF, "application/pdf")),
        ],
    )
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["title"] == "Wasserfleck an der Decke" and t["description"] == "Im Flur, 3. OG"
    r = await client.get(f"{API}/tickets/{t['id']}/attachments", headers=cux)
    items = {a["filename"]: a for a in r.json()["items"]}
    assert set(items) == {"decke.png", "protokoll.pdf"}
    assert items["decke.png"]["content_type"] == "image/png"
    assert items["decke.png"]["created_by"] == str(world.customer_user_x.id)
    content = await client.get(f"{API}/attachments/{items['decke.png']['id']}/content", headers=cux)
    assert content.status_code == 200 and content.content == photo
    # The employee sees the same files.
    r = await client.get(f"{API}/tickets/{t['id']}/attachments", headers=world.employee_a.headers)
    assert {a["filename"] for a in r.json()["items"]} == {"decke.png", "protokoll.pdf"}

    # More right after, through the attachments endpoint.
    extra = await attach(client, cux, t["id"], "nachtrag.txt", b"Es tropft weiter.", "text/plain")
    r = await client.get(f"{API}/attachments/{extra['id']}/content", headers=cux)
    assert r.content == b"Es tropft weiter."
    assert len(await ids(client, cux, f"/tickets/{t['id']}/attachments")) == 3


async def test_refused_file_creates_no_ticket(client, world):
    # The ticket and its files are one request: a refused file leaves no ticket without it behind.
    await enable(client, world, [world.type_a])
    r = await client.post(
        f"{API}/tickets",
        headers=world.customer_user_x.headers,
        data={"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Mit Datei"},
        files=[
            ("files", ("ok.pdf", PDF, "application/pdf")),
            ("files", ("programm.exe", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 4, "image/png")),
        ],
    )
    assert_problem(r, 415)
    assert await ids(client, world.employee_a.headers, "/tickets") == []


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "   "},
        {"title": None},
        {"title": "x" * 301},
        {"title": "ok", "internal": True},
    ],
)
async def test_create_ticket_invalid_input(client, world, body):
    await enable(client, world, [world.type_a])
    base = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id)}
    r = await client.post(f"{API}/tickets", headers=world.customer_user_x.headers, json={**base, **body})
    assert_problem(r, 422)
    missing = await client.post(f"{API}/tickets", headers=world.customer_user_x.headers, json=base)
    assert_problem(missing, 422)
    assert await ids(client, world.employee_a.headers, "/tickets") == []


async def test_create_ticket_outside_scope(client, world, session):
    doc_type = await make_ticket_type(session, tenant=world.tenant_a, name="Prüfbericht")
    other_a = await make_ticket_type(session, tenant=world.tenant_a, name="Intern")
    await session.commit()
    await enable(client, world, [world.type_a, world.type_b], [{"ticket_type_id": str(doc_type.id)}])
    cux = world.customer_user_x.headers
    cases = [
        (world.site_a2, world.type_a, 404),  # a site of its customer, not assigned to it
        (world.site_b1, world.type_b, 404),  # another customer's site
        (world.site_a1, world.type_b, 422),  # enabled, but of another tenant than the site's
        (world.site_a1, other_a, 422),  # the site's tenant, not enabled
        (world.site_a1, world.absence_a, 422),
        (world.site_a1, doc_type, 422),  # a document source is not for creating tickets
    ]
    for site, ticket_type, status in cases:
        r = await client.post(
            f"{API}/tickets",
            headers=cux,
            json={"site_id": str(site.id), "ticket_type_id": str(ticket_type.id), "title": "Versuch"},
        )
        assert_problem(r, status)
    r = await client.post(
        f"{API}/tickets",
        headers=cux,
        json={"site_id": str(uuid.uuid4()), "ticket_type_id": str(world.type_a.id), "title": "Versuch"},
    )
    assert_problem(r, 404)
    assert await ids(client, world.admin.headers, "/tickets") == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "closed"), ("status", "open"), ("assignee_id", "employee_a"), ("due_date", "2031-01-31")],
)
@pytest.mark.parametrize("encoding", ["json", "multipart"])
async def test_create_ticket_with_employee_fields_is_refused(client, world, field, value, encoding):
    await enable(client, world, [world.type_a])
    fields = {
        "site_id": str(world.site_a1.id),
        "ticket_type_id": str(world.type_a.id),
        "title": "Mit Extras",
        field: str(world.employee_a.id) if value == "employee_a" else value,
    }
    if encoding == "json":
        r = await client.post(f"{API}/tickets", headers=world.customer_user_x.headers, json=fields)
    else:
        r = await client.post(
            f"{API}/tickets",
            headers=world.customer_user_x.headers,
            data=fields,
            files=[("files", ("foto.png", image_bytes(), "image/png"))],
        )
    body = assert_problem(r, 403)
    assert field in body["detail"], body
    assert await ids(client, world.admin.headers, "/tickets") == []


# -- changing tickets --------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["status", "assignee_id", "ticket_type_id", "site_id", "due_date"])
async def test_employee_fields_cannot_be_changed(client, world, session, field):
    second_a = await make_ticket_type(session, tenant=world.tenant_a, name="Nachreinigung")
    await session.commit()
    await enable(client, world, [world.type_a, second_a])
    cux = world.customer_user_x.headers
    t = await new_ticket(client, cux, world.site_a1, world.type_a, "Eigenes Ticket")
    value = {
        "status": "closed",
        "assignee_id": str(world.employee_a.id),
        "ticket_type_id": str(second_a.id),
        "site_id": str(world.site_a2.id),
        "due_date": "2031-01-31",
    }[field]
    before = await employee_view(client, world, t["id"])
    attempts = [{field: value}, {"title": "Neuer Titel", field: value}]
    if field in ("assignee_id", "due_date"):
        # Clearing is changing too (status, type and site cannot be null for anyone).
        attempts.append({field: None})
    for body in attempts:
        r = await client.patch(f"{API}/tickets/{t['id']}", headers=cux, json=body)
        problem = assert_problem(r, 403)
        assert field in problem["detail"], problem
    assert await employee_view(client, world, t["id"]) == before


async def test_edits_title_and_description_of_own_tickets_only(client, world, session, ctx):
    colleague = await other_customer_user_x(session, ctx, world, [world.site_a1])
    await enable(client, world, [world.type_a])
    cux = world.customer_user_x.headers
    own = await new_ticket(client, cux, world.site_a1, world.type_a, "Alt")
    r = await client.patch(
        f"{API}/tickets/{own['id']}", headers=cux, json={"title": "Neu", "description": "Genauer"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Neu" and r.json()["description"] == "Genauer"
    seen = await client.get(f"{API}/tickets/{own['id']}", headers=world.employee_a.headers)
    assert seen.json()["title"] == "Neu"
    r = await client.patch(f"{API}/tickets/{own['id']}", headers=cux, json={"description": None})
    assert r.status_code == 200 and r.json()["description"] is None

    others = [
        await new_ticket(client, world.employee_a.headers, world.site_a1, world.type_a, "Vom Mitarbeiter"),
        await new_ticket(client, colleague.headers, world.site_a1, world.type_a, "Vom Kollegen"),
    ]
    for t in others:
        before = await employee_view(client, world, t["id"])
        for body in ({"title": "Gekapert"}, {"description": "Gekapert"}):
            assert_problem(await client.patch(f"{API}/tickets/{t['id']}", headers=cux, json=body), 403)
        assert await employee_view(client, world, t["id"]) == before


# -- comments ----------------------------------------------------------------------------------------


async def test_comments_without_internal_notes(client, world, session, ctx):
    colleague = await other_customer_user_x(session, ctx, world, [world.site_a1])
    await enable(client, world, [world.type_a])
    cux, emp = world.customer_user_x.headers, world.employee_a.headers
    t = await new_ticket(client, cux, world.site_a1, world.type_a, "Heizung kalt")
    public = await comment(client, emp, t["id"], "Techniker ist informiert")
    note = await comment(client, emp, t["id"], "Kunde ist schwierig, Vorsicht", internal=True)
    by_colleague = await comment(client, colleague.headers, t["id"], "Bei uns auch")

    r = await client.get(f"{API}/tickets/{t['id']}/comments", headers=cux)
    assert {c["id"] for c in r.json()["items"]} == {public["id"], by_colleague["id"]}
    assert "schwierig" not in r.text and all(c["internal"] is False for c in r.json()["items"])
    got = await client.get(f"{API}/tickets/{t['id']}/comments/{public['id']}", headers=cux)
    assert got.status_code == 200 and got.json()["body"] == "Techniker ist informiert"
    # An internal note does not exist for a customer user, whatever it does with it.
    for method, body in (("GET", None), ("PATCH", {"body": "Ätsch"}), ("DELETE", None)):
        url = f"{API}/tickets/{t['id']}/comments/{note['id']}"
        assert_problem(await client.request(method, url, headers=cux, json=body), 404)
    # Searching for a word of the internal note finds nothing for the customer, the ticket for employees.
    assert await ids(client, cux, "/tickets", q="schwierig") == []
    assert await ids(client, emp, "/tickets", q="schwierig") == [t["id"]]

    own = await comment(client, cux, t["id"], "Danke!")
    assert own["internal"] is False and own["author"]["kind"] == "customer_user"
    r = await client.post(
        f"{API}/tickets/{t['id']}/comments", headers=cux, json={"body": "Geheim", "internal": True}
    )
    assert "internal" in assert_problem(r, 403)["detail"]

    r = await client.patch(
        f"{API}/tickets/{t['id']}/comments/{own['id']}", headers=cux, json={"body": "Danke sehr!"}
    )
    assert r.status_code == 200 and r.json()["body"] == "Danke sehr!", r.text
    before = await employee_view(client, world, t["id"])
    for other in (public, by_colleague):
        url = f"{API}/tickets/{t['id']}/comments/{other['id']}"
        assert_problem(await client.patch(url, headers=cux, json={"body": "Gekapert"}), 403)
        assert_problem(await client.delete(url, headers=cux), 403)
    assert await employee_view(client, world, t["id"]) == before
    r = await client.delete(f"{API}/tickets/{t['id']}/comments/{own['id']}", headers=cux)
    assert r.status_code == 204, r.text
    left = await ids(client, emp, f"/tickets/{t['id']}/comments")
    assert set(left) == {public["id"], note["id"], by_colleague["id"]}


async def test_comments_on_tickets_created_by_others(client, world):
    await enable(client, world, [world.type_a])
    t = await new_ticket(client, world.employee_a.headers, world.site_a1, world.type_a, "Vom Mitarbeiter")
    c = await comment(client, world.customer_user_x.headers, t["id"], "Wir haben das auch bemerkt")
    r = await client.get(f"{API}/tickets/{t['id']}/comments", headers=world.employee_a.headers)
    assert c["id"] in [x["id"] for x in r.json()["items"]]


# -- attachments -------------------------------------------------------------------------------------


async def test_attachments_seen_and_only_own_deleted(client, world, session, ctx):
    colleague = await other_customer_user_x(session, ctx, world, [world.site_a1])
    await enable(client, world, [world.type_a])
    cux, emp = world.customer_user_x.headers, world.employee_a.headers
    t = await new_ticket(client, emp, world.site_a1, world.type_a, "Graffiti")
    by_employee = await attach(client, emp, t["id"], "angebot.pdf", PDF, "application/pdf")
    by_colleague = await attach(client, colleague.headers, t["id"], "foto.png", image_bytes(), "image/png")
    own = await attach(client, cux, t["id"], "notiz.txt", b"Seit Montag", "text/plain")

    listed = await ids(client, cux, f"/tickets/{t['id']}/attachments")
    assert set(listed) == {by_employee["id"], by_colleague["id"], own["id"]}
    r = await client.get(f"{API}/attachments/{by_employee['id']}/content", headers=cux)
    assert r.status_code == 200 and r.content == PDF

    before = await employee_view(client, world, t["id"])
    for other in (by_employee, by_colleague):
        assert_problem(await client.delete(f"{API}/attachments/{other['id']}", headers=cux), 403)
    assert await employee_view(client, world, t["id"]) == before
    assert (await client.delete(f"{API}/attachments/{own['id']}", headers=cux)).status_code == 204
    assert set(await ids(client, emp, f"/tickets/{t['id']}/attachments")) == {
        by_employee["id"],
        by_colleague["id"],
    }
    assert_problem(await client.get(f"{API}/attachments/{own['id']}/content", headers=emp), 404)


# -- history -----------------------------------------------------------------------------------------


async def test_history_shows_customer_users_public_events_only(client, world):
    await enable(client, world, [world.type_a])
    cux, emp = world.customer_user_x.headers, world.employee_a.headers
    t = await new_ticket(client, cux, world.site_a1, world.type_a, "Aufzug defekt")
    r = await client.patch(
        f"{API}/tickets/{t['id']}",
        headers=emp,
        json={"assignee_id": str(world.employee_a.id), "due_date": "2031-02-03", "status": "in_progress"},
    )
    assert r.status_code == 200, r.text
    note = await comment(client, emp, t["id"], "Ersatzteil teuer, intern klären", internal=True)
    r = await client.patch(
        f"{API}/tickets/{t['id']}/comments/{note['id']}", headers=emp, json={"body": "Ersatzteil sehr teuer"}
    )
    assert r.status_code == 200, r.text
    await comment(client, emp, t["id"], "Techniker kommt Dienstag")

    mine = await client.get(f"{API}/tickets/{t['id']}/history", headers=cux)
    assert mine.status_code == 200, mine.text
    events = mine.json()["items"]
    fields = {e["field"] for e in events}
    # What the ticket shows (status, assignee, due date), the history shows changing; notes never.
    assert {"status", "assignee_id", "due_date"} <= fields, events
    assert "teuer" not in mine.text
    assert "Techniker kommt Dienstag" in mine.text
    assert world.employee_a.email not in mine.text

    # Employees see everything.
    full = await client.get(f"{API}/tickets/{t['id']}/history", headers=emp)
    full_fields = {e["field"] for e in full.json()["items"]}
    assert {"assignee_id", "due_date", "status"} <= full_fields
    assert "teuer" in full.text
    assert len(full.json()["items"]) > len(events)


# -- outside the scope: 404, exactly like nothing ----------------------------------------------------


def _same_as_missing(out_of_scope, missing) -> None:
    assert out_of_scope.status_code == missing.status_code == 404, (out_of_scope.text, missing.text)
    a, b = out_of_scope.json(), missing.json()
    assert (a["type"], a["title"], a["detail"]) == (b["type"], b["title"], b["detail"]), (a, b)


async def test_outside_the_scope_answers_like_nothing_exists(client, world, session, ctx):
    other_a = await make_ticket_type(session, tenant=world.tenant_a, name="Intern")
    doc_type = await make_ticket_type(session, tenant=world.tenant_a, name="Prüfbericht")
    await session.commit()
    await enable(client, world, [world.type_a], [{"ticket_type_id": str(doc_type.id)}])
    await enable(client, world, [world.type_b], customer=world.customer_y)
    await evaluation_settings(client, world, True)
    cux, emp = world.customer_user_x.headers, world.employee_a.headers

    visible = await new_ticket(client, emp, world.site_a1, world.type_a, "Sichtbar")
    internal = await comment(client, emp, visible["id"], "Nur intern", internal=True)
    hidden: list[dict] = []
    for headers, site, ticket_type in (
        (emp, world.site_a2, world.type_a),  # own customer, not assigned site
        (world.employee_b.headers, world.site_b1, world.type_b),  # other customer
        (emp, world.site_a1, other_a),  # assigned site, type not enabled
    ):
        t = await new_ticket(client, headers, site, ticket_type, "Versteckt")
        t["comment"] = await comment(client, headers, t["id"], "Versteckter Kommentar")
        t["attachment"] = await attach(client, headers, t["id"], "versteckt.txt", b"versteckt", "text/plain")
        hidden.append(t)
    doc = await new_ticket(client, emp, world.site_a1, doc_type, "Dokumente")
    doc["comment"] = await comment(client, emp, doc["id"], "Dokumentkommentar")
    hidden.append(doc)

    nobody = str(uuid.uuid4())
    for t in hidden:
        tid, cid = t["id"], t["comment"]["id"]
        for method, path, kwargs in (
            ("GET", "/tickets/{t}", {}),
            ("PATCH", "/tickets/{t}", {"json": {"title": "Gekapert"}}),
            ("GET", "/tickets/{t}/history", {}),
            ("GET", "/tickets/{t}/comments", {}),
            ("POST", "/tickets/{t}/comments", {"json": {"body": "Hallo"}}),
            ("GET", "/tickets/{t}/comments/{c}", {}),
            ("PATCH", "/tickets/{t}/comments/{c}", {"json": {"body": "Gekapert"}}),
            ("DELETE", "/tickets/{t}/comments/{c}", {}),
            ("GET", "/tickets/{t}/attachments", {}),
            ("POST", "/tickets/{t}/attachments", {"files": [("files", ("a.txt", b"hallo", "text/plain"))]}),
        ):
            out = await client.request(method, API + path.format(t=tid, c=cid), headers=cux, **kwargs)
            missing = await client.request(
                method, API + path.format(t=nobody, c=nobody), headers=cux, **kwargs
            )
            _same_as_missing(out, missing)
        if "attachment" in t:
            for method, path in (("GET", "/attachments/{a}/content"), ("DELETE", "/attachments/{a}")):
                out = await client.request(method, API + path.format(a=t["attachment"]["id"]), headers=cux)
                missing = await client.request(method, API + path.format(a=nobody), headers=cux)
                _same_as_missing(out, missing)
    # A visible ticket's internal note, and another ticket's comment through a visible ticket.
    for cid in (internal["id"], hidden[0]["comment"]["id"]):
        for method, kwargs in (("GET", {}), ("PATCH", {"json": {"body": "x"}}), ("DELETE", {})):
            out = await client.request(
                method, f"{API}/tickets/{visible['id']}/comments/{cid}", headers=cux, **kwargs
            )
            missing = await client.request(
                method, f"{API}/tickets/{visible['id']}/comments/{nobody}", headers=cux, **kwargs
            )
            _same_as_missing(out, missing)
    for site in (world.site_a2, world.site_b1):
        for suffix in ("", "/ticket-types", "/documents", "/ticket-evaluation"):
            out = await client.get(f"{API}/sites/{site.id}{suffix}", headers=cux)
            missing = await client.get(f"{API}/sites/{nobody}{suffix}", headers=cux)
            _same_as_missing(out, missing)
        body = {"site_id": str(site.id), "ticket_type_id": str(world.type_a.id), "title": "Hier?"}
        out = await client.post(f"{API}/tickets", headers=cux, json=body)
        missing = await client.post(f"{API}/tickets", headers=cux, json={**body, "site_id": nobody})
        _same_as_missing(out, missing)
    # Nothing of the above changed anything.
    for t in hidden:
        r = await client.get(f"{API}/tickets/{t['id']}/comments", headers=world.admin.headers)
        assert [c["body"] for c in r.json()["items"]] == [t["comment"]["body"]]
        assert (await client.get(f"{API}/tickets/{t['id']}", headers=world.admin.headers)).json()[
            "title"
        ] in (
            "Versteckt",
            "Dokumente",
        )


# -- changes take effect on the very next request ---------------------------------------------------


async def _visible_everything(client, world: World, doc_type: Any):
    """A ticket with a comment and a file on site A1 the customer user sees, and a site document."""
    cux, emp = world.customer_user_x.headers, world.employee_a.headers
    t = await new_ticket(client, emp, world.site_a1, world.type_a, "Sichtbar")
    c = await comment(client, emp, t["id"], "Öffentlich")
    a = await attach(client, emp, t["id"], "plan.pdf", PDF, "application/pdf")
    d = await new_ticket(client, emp, world.site_a1, doc_type, "Dokumente")
    doc = await attach(client, emp, d["id"], "bericht.pdf", PDF, "application/pdf")
    assert await ids(client, cux, "/tickets") == [t["id"]]
    assert (await client.get(f"{API}/tickets/{t['id']}/comments/{c['id']}", headers=cux)).status_code == 200
    assert (await client.get(f"{API}/attachments/{a['id']}/content", headers=cux)).status_code == 200
    assert await ids(client, cux, f"/sites/{world.site_a1.id}/documents") == [doc["id"]]
    assert (await client.get(f"{API}/attachments/{doc['id']}/content", headers=cux)).status_code == 200
    return t, c, a, doc


@pytest.fixture
async def portal(client, world, session):
    doc_type = await make_ticket_type(session, tenant=world.tenant_a, name="Prüfbericht")
    await session.commit()
    await enable(client, world, [world.type_a], [{"ticket_type_id": str(doc_type.id)}])
    await evaluation_settings(client, world, True)
    return world, doc_type


async def test_removing_the_site_takes_effect_on_the_next_request(client, portal):
    world, doc_type = portal
    cux = world.customer_user_x.headers
    t, c, a, doc = await _visible_everything(client, world, doc_type)
    r = await client.put(
        f"{API}/customer-users/{world.customer_user_x.id}/sites",
        headers=world.admin.headers,
        json={"site_ids": []},
    )
    assert r.status_code == 200, r.text
    # The same token, the very next request.
    assert await ids(client, cux, "/tickets") == []
    assert await ids(client, cux, "/sites") == []
    for path in (
        f"/tickets/{t['id']}",
        f"/tickets/{t['id']}/comments/{c['id']}",
        f"/attachments/{a['id']}/content",
        f"/attachments/{doc['id']}/content",
        f"/sites/{world.site_a1.id}",
        f"/sites/{world.site_a1.id}/documents",
        f"/sites/{world.site_a1.id}/ticket-evaluation",
    ):
        assert_problem(await client.get(f"{API}{path}", headers=cux), 404)
    r = await client.post(
        f"{API}/tickets",
        headers=cux,
        json={"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Noch da?"},
    )
    assert_problem(r, 404)
    assert_problem(
        await client.post(f"{API}/tickets/{t['id']}/comments", headers=cux, json={"body": "Hallo?"}), 404
    )


async def test_disabling_the_type_takes_effect_on_the_next_request(client, portal):
    world, doc_type = portal
    cux = world.customer_user_x.headers
    t, c, a, doc = await _visible_everything(client, world, doc_type)
    await enable(client, world, [])
    assert await ids(client, cux, "/tickets") == []
    # The document source went with it.
    assert await ids(client, cux, f"/sites/{world.site_a1.id}/documents") == []
    assert_problem(await client.get(f"{API}/attachments/{doc['id']}/content", headers=cux), 404)
    assert await ids(client, cux, f"/sites/{world.site_a1.id}/ticket-types") == []
    for path in (
        f"/tickets/{t['id']}",
        f"/tickets/{t['id']}/comments/{c['id']}",
        f"/attachments/{a['id']}/content",
    ):
        assert_problem(await client.get(f"{API}{path}", headers=cux), 404)
    r = await client.post(
        f"{API}/tickets",
        headers=cux,
        json={"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Noch da?"},
    )
    # SPEC names no code for a type not enabled for the customer: the service answers 422 (invalid input).
    assert r.status_code == 422, r.text
    assert await ids(client, world.employee_a.headers, "/tickets") != []


async def test_deactivating_the_user_takes_effect_on_the_next_request(client, portal):
    world, doc_type = portal
    cux = world.customer_user_x.headers
    t, _, a, doc = await _visible_everything(client, world, doc_type)
    r = await client.patch(
        f"{API}/customer-users/{world.customer_user_x.id}",
        headers=world.admin.headers,
        json={"is_active": False},
    )
    assert r.status_code == 200, r.text
    for path in (
        "/tickets",
        f"/tickets/{t['id']}",
        f"/attachments/{a['id']}/content",
        f"/attachments/{doc['id']}/content",
        f"/sites/{world.site_a1.id}/documents",
    ):
        assert_problem(await client.get(f"{API}{path}", headers=cux), 401)


# -- site documents ----------------------------------------------------------------------------------


async def test_site_documents_filtered_newest_first_and_downloadable(client, world, session):
    doc_type = await make_ticket_type(session, tenant=world.tenant_a, name="Prüfbericht")
    await session.commit()
    await enable(
        client,
        world,
        [world.type_a],
        [{"ticket_type_id": str(doc_type.id), "content_types": ["application/pdf", "image/*"]}],
    )
    cux, emp = world.customer_user_x.headers, world.employee_a.headers
    d1 = await new_ticket(client, emp, world.site_a1, doc_type, "Prüfberichte 2024")
    d2 = await new_ticket(client, emp, world.site_a1, doc_type, "Prüfberichte 2025")
    png, jpeg = image_bytes("PNG"), image_bytes("JPEG", (10, 200, 10))
    pdf = await attach(client, emp, d1["id"], "bericht-2024.pdf", PDF, "application/pdf")
    photo = await attach(client, emp, d2["id"], "aufnahme.png", png, "image/png")
    text_file = await attach(client, emp, d2["id"], "notiz.txt", b"keine Freigabe", "text/plain")
    jpg = await attach(client, emp, d1["id"], "scan.jpg", jpeg, "image/jpeg")
    # Neither another site's documents nor an enabled ticket's attachments are documents.
    on_a2 = await new_ticket(client, emp, world.site_a2, doc_type, "Anderes Objekt")
    elsewhere = await attach(client, emp, on_a2["id"], "a2.pdf", PDF, "application/pdf")
    regular = await new_ticket(client, emp, world.site_a1, world.type_a, "Normales Ticket")
    await attach(client, emp, regular["id"], "normal.pdf", PDF, "application/pdf")

    r = await client.get(f"{API}/sites/{world.site_a1.id}/documents", headers=cux)
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()["items"]] == [jpg["id"], photo["id"], pdf["id"]]
    assert {a["ticket_id"] for a in r.json()["items"]} == {d1["id"], d2["id"]}

    for a, data in ((pdf, PDF), (photo, png), (jpg, jpeg)):
        got = await client.get(f"{API}/attachments/{a['id']}/content", headers=cux)
        assert got.status_code == 200, got.text
        if a is pdf:
            assert got.content == data
            continue
        # Images are stored re-encoded (see test_image_normalisation): the same picture, not the bytes.
        with Image.open(io.BytesIO(got.content)) as served, Image.open(io.BytesIO(data)) as sent:
            assert (served.format, served.size) == (sent.format, sent.size)
    # Filtered out by content type: not downloadable either.
    assert_problem(await client.get(f"{API}/attachments/{text_file['id']}/content", headers=cux), 404)
    assert_problem(await client.get(f"{API}/attachments/{elsewhere['id']}/content", headers=cux), 404)
    # The document tickets themselves stay invisible.
    for d in (d1, d2):
        for suffix in ("", "/comments", "/attachments", "/history"):
            assert_problem(await client.get(f"{API}/tickets/{d['id']}{suffix}", headers=cux), 404)
    assert set(await ids(client, cux, "/tickets")) == {regular["id"]}
    # And a customer user cannot delete a document it did not upload.
    # It sees the document but did not upload it: 403 (SPEC, Errors), not 404.
    assert (await client.delete(f"{API}/attachments/{pdf['id']}", headers=cux)).status_code == 403
    assert pdf["id"] in await ids(client, emp, f"/tickets/{d1['id']}/attachments")
    # Not for the other user of the customer without the site, nor for another customer's user.
    for other in (world.customer_user_x2, world.customer_user_y):
        assert_problem(
            await client.get(f"{API}/sites/{world.site_a1.id}/documents", headers=other.headers), 404
        )
        assert_problem(await client.get(f"{API}/attachments/{pdf['id']}/content", headers=other.headers), 404)
    assert_problem(await client.get(f"{API}/sites/{world.site_a2.id}/documents", headers=cux), 404)


async def test_site_documents_without_content_type_filter_and_exact_types(client, world, session):
    all_type = await make_ticket_type(session, tenant=world.tenant_a, name="Alles")
    pdf_type = await make_ticket_type(session, tenant=world.tenant_a, name="Nur PDF")
    await session.commit()
    await enable(
        client,
        world,
        [world.type_a],
        [
            {"ticket_type_id": str(all_type.id), "content_types": None},
            {"ticket_type_id": str(pdf_type.id), "content_types": ["application/pdf"]},
        ],
    )
    cux, emp = world.customer_user_x.headers, world.employee_a.headers
    t_all = await new_ticket(client, emp, world.site_a1, all_type, "Alles")
    t_pdf = await new_ticket(client, emp, world.site_a1, pdf_type, "Nur PDF")
    everything = [
        await attach(client, emp, t_all["id"], "liste.txt", b"Liste", "text/plain"),
        await attach(client, emp, t_all["id"], "bild.png", image_bytes(), "image/png"),
    ]
    pdf_ok = await attach(client, emp, t_pdf["id"], "ok.pdf", PDF, "application/pdf")
    png_no = await attach(client, emp, t_pdf["id"], "nein.png", image_bytes(), "image/png")
    got = await ids(client, cux, f"/sites/{world.site_a1.id}/documents")
    assert set(got) == {everything[0]["id"], everything[1]["id"], pdf_ok["id"]}
    assert png_no["id"] not in got
    # The source types are not enabled: their tickets stay out of the ticket list.
    assert await ids(client, cux, "/tickets") == []
    got = await client.get(f"{API}/attachments/{everything[0]['id']}/content", headers=cux)
    assert got.status_code == 200 and got.content == b"Liste"


async def test_site_without_document_sources_has_no_documents(client, world):
    await enable(client, world, [world.type_a])
    t = await new_ticket(client, world.employee_a.headers, world.site_a1, world.type_a)
    await attach(client, world.employee_a.headers, t["id"], "plan.pdf", PDF, "application/pdf")
    assert await ids(client, world.customer_user_x.headers, f"/sites/{world.site_a1.id}/documents") == []


# -- ticket evaluation -------------------------------------------------------------------------------

BASE = dt.datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


async def closed_ticket(
    client,
    database,
    world: World,
    *,
    resolution: dt.timedelta,
    closed_at: dt.datetime | None = None,
    site: Any = None,
    ticket_type: Any = None,
) -> str:
    """A ticket closed after exactly `resolution`, timestamps set in the database (test setup)."""
    t = await new_ticket(client, world.employee_a.headers, site or world.site_a1, ticket_type or world.type_a)
    closed = closed_at or BASE + resolution
    async with database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE tickets SET created_at = :c, closed_at = :z, status = 'closed' WHERE id = :id"),
            {"c": closed - resolution, "z": closed, "id": t["id"]},
        )
    return t["id"]


def days(d: int, hours: int = 0, minutes: int = 0, seconds: int = 0) -> dt.timedelta:
    return dt.timedelta(days=d, hours=hours, minutes=minutes, seconds=seconds)


async def site_evaluation(client, world: World, site=None, headers=None, **params) -> dict[str, Any]:
    r = await client.get(
        f"{API}/sites/{(site or world.site_a1).id}/ticket-evaluation",
        headers=headers or world.customer_user_x.headers,
        params=params,
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_evaluation_buckets_of_seven_days(client, world, database):
    await enable(client, world, [world.type_a])
    await evaluation_settings(client, world, True, 7)
    # 0, 6 (a second short of 7), 7 (exactly) and 20 days.
    for resolution in (days(0, 5), days(6, 23, 59, 59), days(7), days(20, 12)):
        await closed_ticket(client, database, world, resolution=resolution)
    assert await site_evaluation(client, world) == {
        "group_days": 7,
        "total": 4,
        "within_sla": 0,
        "median_days": 6.5,
        "buckets": [
            {"from_days": 0, "to_days": 6, "count": 2},
            {"from_days": 7, "to_days": 13, "count": 1},
            {"from_days": 14, "to_days": 20, "count": 1},
        ],
        "satisfaction": {"count": 0, "average": None},
    }


async def test_evaluation_keeps_empty_buckets_between_filled_ones(client, world, database):
    await enable(client, world, [world.type_a])
    await evaluation_settings(client, world, True, 3)
    for d in (1, 10):
        await closed_ticket(client, database, world, resolution=days(d))
    result = await site_evaluation(client, world)
    assert result["buckets"] == [
        {"from_days": 0, "to_days": 2, "count": 1},
        {"from_days": 3, "to_days": 5, "count": 0},
        {"from_days": 6, "to_days": 8, "count": 0},
        {"from_days": 9, "to_days": 11, "count": 1},
    ]
    assert result["total"] == 2 and result["median_days"] == 5.5


async def test_evaluation_starts_at_the_first_filled_bucket(client, world, database):
    await enable(client, world, [world.type_a])
    await evaluation_settings(client, world, True, 7)
    for d in (15, 16, 16, 30):
        await closed_ticket(client, database, world, resolution=days(d, 3))
    result = await site_evaluation(client, world)
    assert result["buckets"] == [
        {"from_days": 14, "to_days": 20, "count": 3},
        {"from_days": 21, "to_days": 27, "count": 0},
        {"from_days": 28, "to_days": 34, "count": 1},
    ]
    assert result["total"] == 4 and result["median_days"] == 16


async def test_evaluation_group_of_one_day_and_odd_median(client, world, database):
    await enable(client, world, [world.type_a])
    await evaluation_settings(client, world, True, 1)
    for resolution in (days(0, 23, 59), days(2), days(2, 1)):
        await closed_ticket(client, database, world, resolution=resolution)
    result = await site_evaluation(client, world)
    assert result == {
        "group_days": 1,
        "total": 3,
        "within_sla": 0,
        "median_days": 2,
        "buckets": [
            {"from_days": 0, "to_days": 0, "count": 1},
            {"from_days": 1, "to_days": 1, "count": 0},
            {"from_days": 2, "to_days": 2, "count": 2},
        ],
        "satisfaction": {"count": 0, "average": None},
    }


async def test_evaluation_without_closed_tickets_is_empty(client, world):
    await enable(client, world, [world.type_a])
    await evaluation_settings(client, world, True, 7)
    await new_ticket(client, world.employee_a.headers, world.site_a1, world.type_a)
    assert await site_evaluation(client, world) == {
        "group_days": 7,
        "total": 0,
        "within_sla": 0,
        "median_days": None,
        "buckets": [],
        "satisfaction": {"count": 0, "average": None},
    }


async def test_evaluation_counts_only_closed_tickets_of_enabled_types_on_the_site(
    client, world, database, session
):
    other_a = await make_ticket_type(session, tenant=world.tenant_a, name="Intern")
    doc_type = await make_ticket_type(session, tenant=world.tenant_a, name="Prüfbericht")
    await session.commit()
    await enable(client, world, [world.type_a], [{"ticket_type_id": str(doc_type.id)}])
    await evaluation_settings(client, world, True, 7)
    counted = await closed_ticket(client, database, world, resolution=days(2))
    await closed_ticket(client, database, world, resolution=days(9), ticket_type=other_a)
    await closed_ticket(client, database, world, resolution=days(9), ticket_type=doc_type)
    await closed_ticket(client, database, world, resolution=days(9), site=world.site_a2)
    await new_ticket(client, world.employee_a.headers, world.site_a1, world.type_a, "Noch offen")
    in_progress = await new_ticket(client, world.employee_a.headers, world.site_a1, world.type_a, "In Arbeit")
    await client.patch(
        f"{API}/tickets/{in_progress['id']}", headers=world.employee_a.headers, json={"status": "in_progress"}
    )
    # Closed, then reopened: open again, not counted.
    reopened = await closed_ticket(client, database, world, resolution=days(9))
    r = await client.patch(
        f"{API}/tickets/{reopened}", headers=world.employee_a.headers, json={"status": "open"}
    )
    assert r.status_code == 200, r.text
    assert counted
    result = await site_evaluation(client, world)
    assert result["total"] == 1
    assert result["buckets"] == [{"from_days": 0, "to_days": 6, "count": 1}]
    assert result["median_days"] == 2


async def test_evaluation_closed_from_and_to_are_whole_utc_days_inclusive(client, world, database):
    await enable(client, world, [world.type_a])
    await evaluation_settings(client, world, True, 1)
    moments = {
        "before": (dt.datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC), 1),
        "first": (dt.datetime(2024, 3, 1, 0, 0, 0, tzinfo=UTC), 2),
        "last": (dt.datetime(2024, 3, 10, 23, 59, 59, tzinfo=UTC), 3),
        "after": (dt.datetime(2024, 3, 11, 0, 0, 0, tzinfo=UTC), 4),
        # 01:30 in Berlin on 11 March, but still 10 March in UTC.
        "late_utc": (dt.datetime(2024, 3, 11, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), 5),
    }
    for closed_at, d in moments.values():
        await closed_ticket(client, database, world, resolution=days(d), closed_at=closed_at)

    result = await site_evaluation(client, world, closed_from="2024-03-01", closed_to="2024-03-10")
    assert result["total"] == 3
    assert {(b["from_days"], b["count"]) for b in result["buckets"] if b["count"]} == {(2, 1), (3, 1), (5, 1)}
    assert (await site_evaluation(client, world, closed_from="2024-03-11"))["total"] == 1
    assert (await site_evaluation(client, world, closed_to="2024-02-29"))["total"] == 1
    one_day = await site_evaluation(client, world, closed_from="2024-03-10", closed_to="2024-03-10")
    assert one_day["total"] == 2
    assert (await site_evaluation(client, world))["total"] == 5
    r = await client.get(
        f"{API}/sites/{world.site_a1.id}/ticket-evaluation",
        headers=world.customer_user_x.headers,
        params={"closed_from": "2024-03-10", "closed_to": "2024-03-01"},
    )
    assert_problem(r, 422)
    r = await client.get(
        f"{API}/sites/{world.site_a1.id}/ticket-evaluation",
        headers=world.customer_user_x.headers,
        params={"closed_from": "gestern"},
    )
    assert_problem(r, 422)


async def test_evaluation_only_when_enabled(client, world, database):
    await enable(client, world, [world.type_a])
    await closed_ticket(client, database, world, resolution=days(3))
    cux = world.customer_user_x.headers
    site_path = f"{API}/sites/{world.site_a1.id}/ticket-evaluation"
    assert_problem(await client.get(site_path, headers=cux), 404)
    assert_problem(await client.get(f"{API}/ticket-evaluation", headers=cux), 404)
    await evaluation_settings(client, world, True, 7)
    assert (await client.get(site_path, headers=cux)).json()["total"] == 1
    assert (await client.get(f"{API}/ticket-evaluation", headers=cux)).json()["total"] == 1
    # Switching it off takes effect on the next request.
    await evaluation_settings(client, world, False, 7)
    assert_problem(await client.get(site_path, headers=cux), 404)
    assert_problem(await client.get(f"{API}/ticket-evaluation", headers=cux), 404)
    # Changing the grouping too.
    await evaluation_settings(client, world, True, 2)
    assert (await client.get(site_path, headers=cux)).json()["buckets"] == [
        {"from_days": 2, "to_days": 3, "count": 1}
    ]


async def test_overall_evaluation_covers_the_sites_the_caller_sees(client, world, database, session, ctx):
    await enable(client, world, [world.type_a])
    await enable(client, world, [world.type_b], customer=world.customer_y)
    await evaluation_settings(client, world, True, 7)
    both = await other_customer_user_x(session, ctx, world, [world.site_a1, world.site_a2])
    await closed_ticket(client, database, world, resolution=days(1))
    await closed_ticket(client, database, world, resolution=days(8), site=world.site_a2)
    await closed_ticket(client, database, world, resolution=days(15), site=world.site_a2)

    def total(r) -> int:
        assert r.status_code == 200, r.text
        return r.json()["total"]

    cux = world.customer_user_x.headers
    assert total(await client.get(f"{API}/ticket-evaluation", headers=cux)) == 1
    assert total(await client.get(f"{API}/ticket-evaluation", headers=both.headers)) == 3
    r = await client.get(f"{API}/ticket-evaluation", headers=both.headers)
    assert r.json()["median_days"] == 8
    # A customer user cannot ask for another customer.
    r = await client.get(
        f"{API}/ticket-evaluation", headers=cux, params={"customer_id": str(world.customer_y.id)}
    )
    assert_problem(r, 404)
    # Employees name the customer and get the sites of their tenants.
    x = {"customer_id": str(world.customer_x.id)}
    assert (
        total(await client.get(f"{API}/ticket-evaluation", headers=world.employee_a.headers, params=x)) == 3
    )
    assert total(await client.get(f"{API}/ticket-evaluation", headers=world.admin.headers, params=x)) == 3
    assert_problem(
        await client.get(f"{API}/ticket-evaluation", headers=world.employee_b.headers, params=x), 404
    )
    assert_problem(await client.get(f"{API}/ticket-evaluation", headers=world.employee_a.headers), 422)
    # Customer Y has not enabled the evaluation: its user gets nothing.
    assert_problem(await client.get(f"{API}/ticket-evaluation", headers=world.customer_user_y.headers), 404)


async def test_site_evaluation_scope(client, world, database):
    await enable(client, world, [world.type_a])
    await evaluation_settings(client, world, True, 7)
    await closed_ticket(client, database, world, resolution=days(1), site=world.site_a2)
    for headers in (
        world.customer_user_x.headers,
        world.customer_user_x2.headers,
        world.customer_user_y.headers,
    ):
        assert_problem(
            await client.get(f"{API}/sites/{world.site_a2.id}/ticket-evaluation", headers=headers), 404
        )
    assert_problem(
        await client.get(
            f"{API}/sites/{world.site_a2.id}/ticket-evaluation", headers=world.employee_b.headers
        ),
        404,
    )
    r = await client.get(
        f"{API}/sites/{world.site_a2.id}/ticket-evaluation", headers=world.employee_a.headers
    )
    assert r.status_code == 200 and r.json()["total"] == 1


# -- employees' e-mail addresses never reach a customer user -----------------------------------------


async def test_no_employee_email_in_anything_a_customer_user_receives(client, world, database, session, ctx):
    opted_in = await make_employee(session, ctx, tenants=[world.tenant_a], email="bereit@example.test")
    doc_type = await make_ticket_type(session, tenant=world.tenant_a, name="Prüfbericht")
    await session.commit()
    await enable(client, world, [world.type_a], [{"ticket_type_id": str(doc_type.id)}])
    await evaluation_settings(client, world, True, 7)
    emp = world.employee_a.headers
    employee_emails = [
        world.employee_a.email,
        world.employee_b.email,
        world.admin.email,
        world.admin_no_insight.email,
        world.insight_no_admin.email,
        opted_in.email,
    ]

    # Employees work a ticket in every way a customer user can later look at.
    t = await new_ticket(client, emp, world.site_a1, world.type_a, "Reinigung Eingang")
    await client.patch(
        f"{API}/tickets/{t['id']}",
        headers=emp,
        json={"assignee_id": str(world.employee_a.id), "due_date": "2031-01-01", "status": "in_progress"},
    )
    await comment(client, emp, t["id"], "Wir kümmern uns")
    await comment(client, world.admin.headers, t["id"], "Rückfrage vom Admin")
    await comment(client, emp, t["id"], "Kontakt: anna@example.test", internal=True)
    await attach(client, emp, t["id"], "plan.pdf", PDF, "application/pdf")
    d = await new_ticket(client, emp, world.site_a1, doc_type, "Dokumente")
    doc = await attach(client, world.admin.headers, d["id"], "zertifikat.pdf", PDF, "application/pdf")
    closed = await new_ticket(client, emp, world.site_a1, world.type_a, "Erledigt")
    await client.patch(f"{API}/tickets/{closed['id']}", headers=emp, json={"status": "closed"})

    cux = world.customer_user_x.headers
    received: list[str] = []

    async def call(method: str, path: str, **kwargs):
        r = await client.request(method, f"{API}{path}", headers=cux, **kwargs)
        received.append(f"{method} {path} -> {r.status_code}: {r.text}")
        return r

    own = (
        await call(
            "POST",
            "/tickets",
            data={"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Meins"},
            files=[("files", ("foto.png", image_bytes(), "image/png"))],
        )
    ).json()
    await comment(client, emp, own["id"], "Gesehen")
    own_comment = (await call("POST", f"/tickets/{t['id']}/comments", json={"body": "Danke"})).json()
    for path in (
        "/me",
        "/sites",
        f"/sites/{world.site_a1.id}",
        f"/sites/{world.site_a1.id}/ticket-types",
        f"/sites/{world.site_a1.id}/documents",
        f"/sites/{world.site_a1.id}/ticket-evaluation",
        "/ticket-evaluation",
        "/tickets",
        "/tickets?q=Reinigung",
        f"/tickets/{t['id']}",
        f"/tickets/{t['id']}/comments",
        f"/tickets/{t['id']}/attachments",
        f"/tickets/{t['id']}/history",
        f"/tickets/{own['id']}",
        f"/tickets/{own['id']}/comments",
        f"/tickets/{own['id']}/history",
        f"/tickets/{closed['id']}/history",
        f"/attachments/{doc['id']}/content",
        f"/tickets/{d['id']}",
        "/employees",
        f"/employees/{world.employee_a.id}",
        "/ticket-types",
    ):
        await call("GET", path)
    await call("PATCH", f"/tickets/{own['id']}", json={"title": "Meins, genauer"})
    await call("PATCH", f"/tickets/{t['id']}", json={"assignee_id": str(world.employee_a.id)})
    await call("PATCH", f"/tickets/{t['id']}", json={"title": "Nicht meins"})
    await call("PATCH", f"/tickets/{t['id']}/comments/{own_comment['id']}", json={"body": "Danke!"})
    await call(
        "POST", f"/tickets/{t['id']}/attachments", files=[("files", ("n.txt", b"Notiz", "text/plain"))]
    )

    assert len(received) > 25
    everything = "\n".join(received).lower()
    for email in employee_emails:
        assert email.lower() not in everything, next(x for x in received if email.lower() in x.lower())

    # Mails to the customer user keep employees' addresses out too.
    async with database.sessionmaker() as s:
        mails = (
            (
                await s.execute(
                    text("SELECT body_text || body_html || subject FROM outbox WHERE recipient = :r"),
                    {"r": world.customer_user_x.email},
                )
            )
            .scalars()
            .all()
        )
    assert mails, "the customer user was mailed about the comment on its ticket"
    for mail in mails:
        for email in employee_emails:
            assert email not in mail
        assert "Kontakt" not in mail


async def test_customer_user_cannot_upload_loose_files(client, world):
    # Loose uploads serve form photos, which only employees fill in.
    r = await client.post(
        "/api/v1/uploads",
        headers=world.customer_user_x.headers,
        files=[("files", ("a.txt", b"hallo", "text/plain"))],
    )
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
