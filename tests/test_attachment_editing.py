"""Editing attachments: the uploader renames one or replaces its content; nobody else, nothing lost."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote, urlparse

import httpx
import pytest
from PIL import Image

from blink_api.app import create_app
from tests.conftest import make_settings
from tests.factories import Actor, make_customer_user, make_employee
from tests.faults import refusing_attachment_changes
from tests.forms_helpers import (
    make_filler,
    make_manager,
    photo_jpeg,
    published,
    submit,
    template_body,
    upload_id,
)
from tests.kit import API, assert_problem, new_ticket
from tests.test_ticket_attachments import files_under, pdf, png


@pytest.fixture
async def ticket(client, world) -> dict:
    return await new_ticket(client, world.employee_a, world.site_a1, world.type_a, "Glasbruch")


async def attach(client, actor: Actor, ticket_id: str, name: str, data: bytes) -> dict:
    r = await client.post(
        f"{API}/tickets/{ticket_id}/attachments",
        headers=actor.headers,
        files=[("files", (name, data, "application/octet-stream"))],
    )
    assert r.status_code == 201, r.text
    return r.json()["items"][0]


async def rename(client, headers: dict, attachment_id: str, filename: object) -> httpx.Response:
    return await client.patch(
        f"{API}/attachments/{attachment_id}", headers=headers, json={"filename": filename}
    )


async def replace(
    client, headers: dict, attachment_id: str, *files: tuple[str, bytes, str]
) -> httpx.Response:
    return await client.put(
        f"{API}/attachments/{attachment_id}/content",
        headers=headers,
        files=[("file", f) for f in files],
    )


async def download(client, actor: Actor, attachment_id: str) -> httpx.Response:
    return await client.get(f"{API}/attachments/{attachment_id}/content", headers=actor.headers)


async def history(client, actor: Actor, ticket_id: str, *events: str) -> list[dict]:
    r = await client.get(f"{API}/tickets/{ticket_id}/history", headers=actor.headers)
    assert r.status_code == 200, r.text
    return [e for e in r.json()["items"] if e["event"] in events]


async def enable_portal(client, world) -> None:
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings",
        headers=world.admin.headers,
        json={"enabled_ticket_type_ids": [str(world.type_a.id)]},
    )
    assert r.status_code == 200, r.text


# Renaming


async def test_the_uploader_renames_and_downloads_and_history_follow(client, world, ticket):
    data = pdf(3000)
    a = await attach(client, world.employee_a, ticket["id"], "scan_0042.pdf", data)
    r = await rename(client, world.employee_a.headers, a["id"], "Schadensbericht Glasbruch.pdf")
    assert r.status_code == 200, r.text
    assert r.json() == {**a, "filename": "Schadensbericht Glasbruch.pdf"}

    r = await download(client, world.employee_a, a["id"])
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-disposition"] == (
        "inline; filename=\"Schadensbericht Glasbruch.pdf\"; filename*=UTF-8''Schadensbericht%20Glasbruch.pdf"
    )
    listed = await client.get(f"{API}/tickets/{ticket['id']}/attachments", headers=world.employee_a.headers)
    assert [x["filename"] for x in listed.json()["items"]] == ["Schadensbericht Glasbruch.pdf"]

    (entry,) = await history(client, world.employee_a, ticket["id"], "attachment_renamed")
    assert entry["field"] == "attachment" and entry["actor"]["id"] == str(world.employee_a.id)
    assert entry["old_value"] == {"id": a["id"], "filename": "scan_0042.pdf"}
    assert entry["new_value"] == {"id": a["id"], "filename": "Schadensbericht Glasbruch.pdf"}

    # The same name again: nothing changes, nothing more in the history.
    r = await rename(client, world.employee_a.headers, a["id"], "Schadensbericht Glasbruch.pdf")
    assert r.status_code == 200, r.text
    assert len(await history(client, world.employee_a, ticket["id"], "attachment_renamed")) == 1


async def test_the_name_is_free_text_and_the_type_stays_what_the_bytes_are(client, world, ticket):
    a = await attach(client, world.employee_a, ticket["id"], "notiz.txt", b"Schluessel beim Hausmeister")
    r = await rename(client, world.employee_a.headers, a["id"], "notiz.pdf")
    assert r.status_code == 200, r.text
    assert r.json()["content_type"] == "text/plain"
    r = await download(client, world.employee_a, a["id"])
    assert r.headers["content-type"].startswith("text/plain")
    # Still offered for download, never shown inline because the name now ends in .pdf.
    assert r.headers["content-disposition"].startswith('attachment; filename="notiz.pdf"')


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        # A name, never a path: separators become dashes, the words stay.
        ("Rechnung 03/2026.pdf", "Rechnung 03-2026.pdf"),
        ("..\\..\\boot.ini", "-..-boot.ini"),
        ("../../etc/passwd", "-..-etc-passwd"),
        # One line: line breaks and other controls separate words.
        ("Zeile eins\r\nZeile zwei.txt", "Zeile eins Zeile zwei.txt"),
        ("\tGlocke\x07.txt", "Glocke .txt"),
        # Characters file systems refuse go, and so do invisible bidi overrides ("gpj.exe" turned).
        ('<script>"a"|b?*.txt', "scriptab.txt"),
        ("rechnung\u202egpj.exe", "rechnunggpj.exe"),
        ("  .versteckt  ", "versteckt"),
        ("Übergabe Größe.pdf", "Übergabe Größe.pdf"),
    ],
)
async def test_names_are_cleaned_like_an_uploads(client, world, ticket, sent, stored):
    a = await attach(client, world.employee_a, ticket["id"], "a.txt", b"Inhalt")
    r = await rename(client, world.employee_a.headers, a["id"], sent)
    assert r.status_code == 200, r.text
    assert r.json()["filename"] == stored
    r = await download(client, world.employee_a, a["id"])
    assert r.headers["content-disposition"].endswith(f"filename*=UTF-8''{quote(stored, safe='')}")


@pytest.mark.parametrize(
    "sent",
    ["", "   ", "...", "\x07\x08", "x" * 201, None, 42],
    ids=["empty", "blank", "dots", "controls", "201-chars", "null", "number"],
)
async def test_names_with_nothing_to_show_or_too_long_are_refused(client, world, ticket, sent):
    a = await attach(client, world.employee_a, ticket["id"], "bleibt.txt", b"Inhalt")
    assert_problem(await rename(client, world.employee_a.headers, a["id"], sent), 422, ["body", "filename"])
    r = await download(client, world.employee_a, a["id"])
    assert r.headers["content-disposition"].startswith('attachment; filename="bleibt.txt"')


async def test_a_name_of_200_characters_is_kept_whole(client, world, ticket):
    a = await attach(client, world.employee_a, ticket["id"], "a.txt", b"Inhalt")
    name = "b" * 196 + ".pdf"
    r = await rename(client, world.employee_a.headers, a["id"], name)
    assert r.status_code == 200 and r.json()["filename"] == name


async def test_unknown_fields_are_refused(client, world, ticket):
    a = await attach(client, world.employee_a, ticket["id"], "a.txt", b"Inhalt")
    r = await client.patch(
        f"{API}/attachments/{a['id']}",
        headers=world.employee_a.headers,
        json={"filename": "b.txt", "content_type": "application/pdf"},
    )
    assert_problem(r, 422, ["body", "content_type"])


# Who may


async def test_only_the_uploader_edits_whoever_else_sees_the_file(client, world, ticket, database, ctx):
    await enable_portal(client, world)
    async with database.sessionmaker.begin() as s:
        neighbour = await make_customer_user(
            s, ctx, customer=world.customer_x, sites=[world.site_a1], email="nachbar@hansa.test"
        )
        colleague = await make_employee(s, ctx, tenants=[world.tenant_a])
    mine = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a, "Tür klemmt")
    data = pdf(2000)
    by_customer = await attach(client, world.customer_user_x, mine["id"], "tuer.pdf", data)
    by_employee = await attach(client, world.employee_a, ticket["id"], "bericht.pdf", data)

    refused = [
        # Customer X's other user on the same site sees the file but did not add it.
        (neighbour, by_customer),
        # Employees who see the ticket: SPEC gives renaming and replacing to the uploader only.
        (world.employee_a, by_customer),
        (colleague, by_employee),
        (world.admin, by_employee),
        (world.customer_user_x, by_employee),
    ]
    for actor, a in refused:
        assert (await download(client, actor, a["id"])).status_code == 200
        assert_problem(await rename(client, actor.headers, a["id"], "gekapert.pdf"), 403)
        assert_problem(
            await replace(client, actor.headers, a["id"], ("x.txt", b"gekapert", "text/plain")), 403
        )
    # Those who do not see it at all are told nothing exists.
    for actor, a in [
        (world.customer_user_y, by_customer),
        (world.customer_user_x2, by_customer),
        (world.employee_b, by_employee),
    ]:
        assert_problem(await rename(client, actor.headers, a["id"], "gekapert.pdf"), 404)
        assert_problem(
            await replace(client, actor.headers, a["id"], ("x.txt", b"gekapert", "text/plain")), 404
        )
    assert_problem(
        await rename(client, world.employee_a.headers, "00000000-0000-4000-8000-000000000000", "x.pdf"), 404
    )
    for a in (by_customer, by_employee):
        r = await download(client, world.admin, a["id"])
        assert r.content == data and f'filename="{a["filename"]}"' in r.headers["content-disposition"]

    # The customer user edits its own.
    r = await rename(client, world.customer_user_x.headers, by_customer["id"], "Tür Keller.pdf")
    assert r.status_code == 200, r.text
    r = await replace(
        client, world.customer_user_x.headers, by_customer["id"], ("neu.txt", b"neu", "text/plain")
    )
    assert r.status_code == 200, r.text
    # Customer users see both in the ticket's history.
    events = await history(
        client, world.customer_user_x, mine["id"], "attachment_renamed", "attachment_replaced"
    )
    assert sorted(e["event"] for e in events) == ["attachment_renamed", "attachment_replaced"]


async def test_customer_token_with_only_tickets_read_may_not_edit(client, world):
    await enable_portal(client, world)
    mine = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a, "Licht defekt")
    a = await attach(client, world.customer_user_x, mine["id"], "licht.txt", b"Flur 2. OG")
    tokens = {}
    for scopes in (["tickets:read"], ["tickets:read", "tickets:write"]):
        r = await client.post(
            f"{API}/api-tokens",
            headers=world.customer_user_x.headers,
            json={"name": "CAFM", "scopes": scopes},
        )
        assert r.status_code == 201, r.text
        tokens[len(scopes)] = {"Authorization": f"Bearer {r.json()['token']}"}
    body = assert_problem(await rename(client, tokens[1], a["id"], "x.txt"), 403)
    assert "tickets:write" in body["detail"]
    body = assert_problem(await replace(client, tokens[1], a["id"], ("x.txt", b"x", "text/plain")), 403)
    assert "tickets:write" in body["detail"]
    assert (await download(client, world.customer_user_x, a["id"])).content == b"Flur 2. OG"
    r = await rename(client, tokens[2], a["id"], "Licht Flur.txt")
    assert r.status_code == 200, r.text


async def test_uploads_on_no_ticket_are_not_edited(client, world, ctx, storage_root):
    filler = await make_filler(ctx, world)
    manager = await make_manager(ctx, world)
    template = await published(
        client, manager, template_body([{"key": "foto", "type": "photo", "label": "Foto", "required": True}])
    )
    photo = photo_jpeg(400, 300)
    loose = await upload_id(client, filler, photo, "lose.jpg")
    answered = await upload_id(client, filler, photo, "eingang.jpg")
    r = await submit(client, filler, template["id"], world.site_a1.id, {"foto": answered}, complete=True)
    assert r.status_code == 201, r.text
    before = files_under(storage_root)
    for attachment_id in (loose, answered):
        # 409, not 403: the uploader is asking; what refuses is what the file is, not who asks.
        assert_problem(await rename(client, filler.headers, attachment_id, "anders.jpg"), 409)
        assert_problem(
            await replace(client, filler.headers, attachment_id, ("anders.png", png(), "image/png")), 409
        )
        r = await download(client, filler, attachment_id)
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert files_under(storage_root) == before


# Replacing


async def test_replacing_keeps_the_id_and_serves_exactly_the_new_bytes(client, world, ticket, storage_root):
    before = files_under(storage_root)
    old = await attach(client, world.employee_a, ticket["id"], "angebot.txt", b"Entwurf")
    old_objects = files_under(storage_root) - before
    assert len(old_objects) == 1

    new_bytes = pdf(700_000)  # several storage chunks
    r = await replace(
        client, world.employee_a.headers, old["id"], ("../Angebot final.pdf", new_bytes, "text/plain")
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        **old,
        "filename": "Angebot final.pdf",
        "content_type": "application/pdf",
        "size": len(new_bytes),
    }
    r = await download(client, world.employee_a, old["id"])
    assert r.status_code == 200 and r.content == new_bytes
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith('inline; filename="Angebot final.pdf"')
    assert int(r.headers["content-length"]) == len(new_bytes)
    assert r.headers["cache-control"] == "private, no-store"

    # The previous object is gone; exactly one new one holds the file.
    now = files_under(storage_root) - before
    assert len(now) == 1 and now.isdisjoint(old_objects)
    assert (storage_root / now.pop()).read_bytes() == new_bytes

    (entry,) = await history(client, world.employee_a, ticket["id"], "attachment_replaced")
    assert entry["actor"]["id"] == str(world.employee_a.id)
    assert entry["old_value"] == {
        "id": old["id"],
        "filename": "angebot.txt",
        "content_type": "text/plain",
        "size": len(b"Entwurf"),
    }
    assert entry["new_value"] == {
        "id": old["id"],
        "filename": "Angebot final.pdf",
        "content_type": "application/pdf",
        "size": len(new_bytes),
    }
    listed = await client.get(f"{API}/tickets/{ticket['id']}/attachments", headers=world.employee_a.headers)
    assert [x["id"] for x in listed.json()["items"]] == [old["id"]]


async def test_a_replaced_image_is_normalised_like_an_upload(client, world, ticket):
    a = await attach(client, world.employee_a, ticket["id"], "a.txt", b"Platzhalter")
    big = io.BytesIO()
    Image.frombytes("RGB", (3000, 1500), os.urandom(3000 * 1500 * 3)).save(big, "PNG")
    r = await replace(client, world.employee_a.headers, a["id"], ("foto.png", big.getvalue(), "image/png"))
    assert r.status_code == 200, r.text
    assert r.json()["content_type"] == "image/png"
    r = await download(client, world.employee_a, a["id"])
    with Image.open(io.BytesIO(r.content)) as image:
        assert image.size == (2048, 1024)
    assert (
        int(r.headers["content-length"])
        == len(r.content)
        == (
            await client.get(f"{API}/tickets/{ticket['id']}/attachments", headers=world.employee_a.headers)
        ).json()["items"][0]["size"]
    )


async def test_replacing_again_leaves_only_the_last_file(client, world, ticket, storage_root):
    before = files_under(storage_root)
    a = await attach(client, world.employee_a, ticket["id"], "v1.txt", b"eins")
    for version in (b"zwei", b"drei", b"drei"):
        r = await replace(client, world.employee_a.headers, a["id"], ("v.txt", version, "text/plain"))
        assert r.status_code == 200, r.text
    assert (await download(client, world.employee_a, a["id"])).content == b"drei"
    now = files_under(storage_root) - before
    assert len(now) == 1 and (storage_root / now.pop()).read_bytes() == b"drei"


async def assert_unchanged(
    client, actor: Actor, a: dict, data: bytes, root: Path, before: set[str], *, replaced: int = 0
) -> None:
    """`a` is as it was: its bytes, its name, its row, the stored objects and the history's replacements."""
    r = await download(client, actor, a["id"])
    assert r.status_code == 200 and r.content == data
    assert f'filename="{a["filename"]}"' in r.headers["content-disposition"]
    listed = await client.get(f"{API}/tickets/{a['ticket_id']}/attachments", headers=actor.headers)
    assert listed.json()["items"] == [a]
    assert files_under(root) == before
    assert len(await history(client, actor, a["ticket_id"], "attachment_replaced")) == replaced


@pytest.mark.parametrize(
    ("files", "status", "loc"),
    [
        ([("seite.html", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "text/plain")], 415, None),
        ([("setup.exe", b"MZ\x90\x00" + os.urandom(300), "application/pdf")], 415, None),
        ([("kaputt.png", b"\x89PNG\r\n\x1a\n" + os.urandom(200), "image/png")], 415, None),
        ([("leer.txt", b"", "text/plain")], 422, ["body", "file", 0]),
        ([("a.txt", b"eins", "text/plain"), ("b.txt", b"zwei", "text/plain")], 422, ["body", "file"]),
        ([], 422, ["body", "file"]),
    ],
    ids=["html", "exe", "unreadable-image", "empty", "two-files", "no-file"],
)
async def test_a_refused_replacement_leaves_the_old_file(
    client, world, ticket, storage_root, files, status, loc
):
    data = pdf(2000)
    a = await attach(client, world.employee_a, ticket["id"], "bleibt.pdf", data)
    before = files_under(storage_root)
    if files:
        r = await replace(client, world.employee_a.headers, a["id"], *files)
    else:
        r = await client.put(
            f"{API}/attachments/{a['id']}/content",
            headers=world.employee_a.headers,
            files=[("anders", ("a.txt", b"x", "text/plain"))],
        )
    assert_problem(r, status, loc)
    await assert_unchanged(client, world.employee_a, a, data, storage_root, before)


@pytest.fixture
async def small_app(tmp_path, database_url, database) -> AsyncIterator[tuple[httpx.AsyncClient, Path]]:
    """The app with a 4 KiB upload limit, a 2 KiB limit for other bodies and a storage folder of its own."""
    settings = make_settings(tmp_path, database_url, max_upload_bytes=4096, max_body_bytes=2048)
    app = create_app(settings, database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c, Path(urlparse(settings.storage_url).path)


async def test_the_size_limit_is_the_uploads(small_app, world, ticket):
    client, root = small_app
    a = await attach(client, world.employee_a, ticket["id"], "a.txt", b"klein")
    # Above the limit for other bodies, at the upload limit: the route takes uploads.
    r = await replace(client, world.employee_a.headers, a["id"], ("grenze.txt", b"a" * 4096, "text/plain"))
    assert r.status_code == 200, r.text
    a = r.json()
    before = files_under(root)
    body = assert_problem(
        await replace(client, world.employee_a.headers, a["id"], ("zu-gross.txt", b"a" * 4097, "text/plain")),
        413,
    )
    assert "4096" in body["detail"]
    # Far above it: refused before the body is read.
    assert_problem(
        await replace(
            client, world.employee_a.headers, a["id"], ("riesig.pdf", pdf(1_200_000), "application/pdf")
        ),
        413,
    )
    await assert_unchanged(client, world.employee_a, a, b"a" * 4096, root, before, replaced=1)


@pytest.mark.parametrize("when", ["statement", "commit"])
async def test_a_replacement_that_does_not_commit_leaves_no_new_object(
    client, world, ticket, storage_root, database, when
):
    data = pdf(2000)
    a = await attach(client, world.employee_a, ticket["id"], "bleibt.pdf", data)
    before = files_under(storage_root)
    async with refusing_attachment_changes(database, when):
        r = await replace(
            client, world.employee_a.headers, a["id"], ("neu.pdf", pdf(3000), "application/pdf")
        )
        assert_problem(r, 503)
    await assert_unchanged(client, world.employee_a, a, data, storage_root, before)
    # And once the database accepts it again, the replacement works.
    r = await replace(client, world.employee_a.headers, a["id"], ("neu.txt", b"neu", "text/plain"))
    assert r.status_code == 200, r.text
    assert (await download(client, world.employee_a, a["id"])).content == b"neu"


async def test_replacements_at_once_leave_one_object_and_it_is_the_one_served(
    client, world, ticket, storage_root
):
    before = files_under(storage_root)
    a = await attach(client, world.employee_a, ticket["id"], "v.txt", b"v0")
    versions = [f"Fassung {i}".encode() for i in range(4)]
    answers = await asyncio.gather(
        *(replace(client, world.employee_a.headers, a["id"], ("v.txt", v, "text/plain")) for v in versions)
    )
    assert [r.status_code for r in answers] == [200] * len(versions)
    served = (await download(client, world.employee_a, a["id"])).content
    assert served in versions
    # The row was locked: each replacement removed the object the one before it wrote, none was lost.
    now = files_under(storage_root) - before
    assert len(now) == 1 and (storage_root / now.pop()).read_bytes() == served
    assert len(await history(client, world.employee_a, ticket["id"], "attachment_replaced")) == len(versions)


async def test_an_uploader_who_no_longer_sees_the_ticket_may_not_edit(client, world):
    await enable_portal(client, world)
    mine = await new_ticket(client, world.customer_user_x, world.site_a1, world.type_a, "Aufzug")
    a = await attach(client, world.customer_user_x, mine["id"], "aufzug.pdf", pdf(1500))
    # The type is no longer enabled for the customer, only offered as site documents.
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings",
        headers=world.admin.headers,
        json={
            "enabled_ticket_type_ids": [],
            "document_sources": [{"ticket_type_id": str(world.type_a.id), "content_types": None}],
        },
    )
    assert r.status_code == 200, r.text
    assert (await download(client, world.customer_user_x, a["id"])).status_code == 200
    assert_problem(await rename(client, world.customer_user_x.headers, a["id"], "anders.pdf"), 403)
    assert_problem(
        await replace(client, world.customer_user_x.headers, a["id"], ("x.txt", b"x", "text/plain")), 403
    )
