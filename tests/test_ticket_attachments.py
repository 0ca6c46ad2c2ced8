"""Ticket attachments: uploads, sniffed types, size limits, safe names and keys, downloads and deletion."""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from PIL import Image

from blink_api.app import create_app
from tests.conftest import make_settings
from tests.factories import Actor, make_employee
from tests.kit import API, assert_problem, new_ticket

KEY = re.compile(r"attachments/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def png(width: int = 24, height: int = 16) -> bytes:
    # Random pixels: a pixel-exact round trip cannot pass by accident. (Images are stored re-encoded,
    # see test_image_normalisation; PNG is lossless, so the pixels stay.)
    buf = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buf, "PNG")
    return buf.getvalue()


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.tobytes()


def pdf(size: int) -> bytes:
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    return head + os.urandom(size - len(head) - 6) + b"%%EOF\n"


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and header claiming a huge size, with no pixel data at all."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "hallo")
    return buf.getvalue()


def files_under(root: Path) -> set[str]:
    if not root.exists():
        return set()
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
async def ticket(client, world) -> dict:
    return await new_ticket(client, world.employee_a, world.site_a1, world.type_a, "Schaden")


async def upload(client, actor: Actor, ticket_id: str, *files, headers: dict | None = None):
    return await client.post(
        f"{API}/tickets/{ticket_id}/attachments",
        headers={**actor.headers, **(headers or {})},
        files=[("files", f) for f in files],
    )


async def attachment_list(client, actor: Actor, ticket_id: str) -> list[dict]:
    r = await client.get(f"{API}/tickets/{ticket_id}/attachments", headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


# Uploading


async def test_several_files_in_one_request(client, world, ticket, storage_root):
    before = files_under(storage_root)
    report, photo, note = pdf(2000), png(), "Übergabe am Montag\n".encode()
    r = await upload(
        client,
        world.employee_a,
        ticket["id"],
        ("bericht.pdf", report, "application/pdf"),
        ("foto.png", photo, "image/png"),
        ("notiz.txt", note, "text/plain"),
    )
    assert r.status_code == 201, r.text
    items = r.json()["items"]
    assert [(a["filename"], a["content_type"]) for a in items] == [
        ("bericht.pdf", "application/pdf"),
        ("foto.png", "image/png"),
        ("notiz.txt", "text/plain"),
    ]
    assert (items[0]["size"], items[2]["size"]) == (len(report), len(note))
    for a in items:
        assert set(a) == {"id", "ticket_id", "filename", "content_type", "size", "created_at", "created_by"}
        assert a["ticket_id"] == ticket["id"] and a["created_by"] == str(world.employee_a.id)
    assert {a["id"] for a in await attachment_list(client, world.employee_a, ticket["id"])} == {
        a["id"] for a in items
    }
    assert len(files_under(storage_root) - before) == 3
    r = await client.get(f"{API}/tickets/{ticket['id']}/history", headers=world.employee_a.headers)
    added = [e["new_value"]["filename"] for e in r.json()["items"] if e["event"] == "attachment_added"]
    assert sorted(added) == ["bericht.pdf", "foto.png", "notiz.txt"]


async def test_request_without_files_names_the_field(client, world, ticket):
    r = await client.post(
        f"{API}/tickets/{ticket['id']}/attachments",
        headers=world.employee_a.headers,
        files=[("other", ("a.txt", b"x", "text/plain"))],
    )
    assert_problem(r, 422, ["body", "files"])


async def test_empty_file_is_refused(client, world, ticket):
    r = await upload(client, world.employee_a, ticket["id"], ("leer.txt", b"", "text/plain"))
    assert_problem(r, 422)
    assert await attachment_list(client, world.employee_a, ticket["id"]) == []


# Size limit


@pytest.fixture
async def small_app(tmp_path, database_url, database) -> AsyncIterator[tuple[httpx.AsyncClient, Path]]:
    """The app with a 4 KiB upload limit and a storage folder of its own."""
    settings = make_settings(tmp_path, database_url, max_upload_bytes=4096)
    app = create_app(settings, database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c, Path(urlparse(settings.storage_url).path)


async def test_file_at_the_limit_is_accepted_and_one_byte_more_is_413(small_app, world, ticket):
    client, root = small_app
    r = await upload(client, world.employee_a, ticket["id"], ("grenze.txt", b"a" * 4096, "text/plain"))
    assert r.status_code == 201, r.text
    stored = files_under(root)
    r = await upload(client, world.employee_a, ticket["id"], ("zu-gross.txt", b"a" * 4097, "text/plain"))
    body = assert_problem(r, 413)
    assert "4096" in body["detail"]
    assert [a["filename"] for a in await attachment_list(client, world.employee_a, ticket["id"])] == [
        "grenze.txt"
    ]
    assert files_under(root) == stored


async def test_one_oversized_file_refuses_the_whole_batch(small_app, world, ticket):
    client, root = small_app
    r = await upload(
        client,
        world.employee_a,
        ticket["id"],
        ("klein.txt", b"klein", "text/plain"),
        ("gross.pdf", pdf(6000), "application/pdf"),
    )
    assert_problem(r, 413)
    assert await attachment_list(client, world.employee_a, ticket["id"]) == []
    assert files_under(root) == set()


async def test_body_far_above_the_limit_is_refused_with_413(small_app, world, ticket):
    client, root = small_app
    r = await upload(
        client, world.employee_a, ticket["id"], ("riesig.pdf", pdf(1_200_000), "application/pdf")
    )
    assert_problem(r, 413)
    assert await attachment_list(client, world.employee_a, ticket["id"]) == []
    assert files_under(root) == set()


# Content type from the bytes


async def test_png_sent_as_text_is_stored_and_served_as_png(client, world, ticket):
    photo = png()
    r = await upload(client, world.employee_a, ticket["id"], ("bild.txt", photo, "text/plain"))
    assert r.status_code == 201, r.text
    a = r.json()["items"][0]
    assert a["content_type"] == "image/png"
    r = await client.get(f"{API}/attachments/{a['id']}/content", headers=world.employee_a.headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert pixels(r.content) == pixels(photo)


async def test_text_claimed_as_pdf_is_stored_as_text(client, world, ticket):
    r = await upload(client, world.employee_a, ticket["id"], ("rechnung.pdf", b"nur Text", "application/pdf"))
    assert r.status_code == 201, r.text
    a = r.json()["items"][0]
    assert a["content_type"] == "text/plain"
    r = await client.get(f"{API}/attachments/{a['id']}/content", headers=world.employee_a.headers)
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["content-disposition"].startswith("attachment")


@pytest.mark.parametrize(
    ("name", "data", "claimed"),
    [
        ("seite.html", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "text/html"),
        ("seite.txt", b"<html><head><title>x</title></head><body>hallo</body></html>", "text/plain"),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + os.urandom(500), "application/octet-stream"),
        ("programm.pdf", b"\x7fELF\x02\x01\x01\x00" + bytes(200), "application/pdf"),
        ("archiv.zip", zip_bytes(), "application/zip"),
        ("archiv.txt", zip_bytes(), "text/plain"),
    ],
    ids=["html", "html-as-text", "svg", "exe", "elf-as-pdf", "zip", "zip-as-text"],
)
async def test_refused_file_types_answer_415_and_store_nothing(
    client, world, ticket, storage_root, name, data, claimed
):
    before = files_under(storage_root)
    r = await upload(client, world.employee_a, ticket["id"], (name, data, claimed))
    assert_problem(r, 415)
    assert await attachment_list(client, world.employee_a, ticket["id"]) == []
    assert files_under(storage_root) == before


async def test_one_refused_file_refuses_the_whole_batch(client, world, ticket, storage_root):
    before = files_under(storage_root)
    r = await upload(
        client,
        world.employee_a,
        ticket["id"],
        ("ok.png", png(), "image/png"),
        ("virus.exe", b"MZ\x90\x00" + os.urandom(300), "image/png"),
    )
    assert_problem(r, 415)
    assert await attachment_list(client, world.employee_a, ticket["id"]) == []
    assert files_under(storage_root) == before


# Pillow warns about the oversized header while the app inspects it; the refusal is what counts.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
async def test_image_above_50_megapixels_is_refused(client, world, ticket, storage_root):
    before = files_under(storage_root)
    # A real, tiny (a few KiB) PNG of 60 megapixels: small on the wire, huge once decoded.
    buf = io.BytesIO()
    Image.new("1", (10000, 6000)).save(buf, "PNG")
    assert len(buf.getvalue()) < 100_000
    r = await upload(client, world.employee_a, ticket["id"], ("plan.png", buf.getvalue(), "image/png"))
    assert_problem(r, 413)
    # A header claiming 10 gigapixels with no pixel data behind it.
    r = await upload(
        client, world.employee_a, ticket["id"], ("bombe.png", png_header_only(100_000, 100_000), "image/png")
    )
    assert_problem(r, 413)
    assert await attachment_list(client, world.employee_a, ticket["id"]) == []
    assert files_under(storage_root) == before


async def test_image_just_below_50_megapixels_is_accepted(client, world, ticket):
    buf = io.BytesIO()
    Image.new("1", (10000, 5000)).save(buf, "PNG")
    r = await upload(client, world.employee_a, ticket["id"], ("grundriss.png", buf.getvalue(), "image/png"))
    assert r.status_code == 201, r.text
    assert r.json()["items"][0]["content_type"] == "image/png"


async def test_unreadable_image_is_refused(client, world, ticket):
    # PNG magic bytes followed by garbage: it claims to be an image but is none.
    r = await upload(
        client,
        world.employee_a,
        ticket["id"],
        ("kaputt.png", b"\x89PNG\r\n\x1a\n" + os.urandom(200), "image/png"),
    )
    assert_problem(r, 415)


# Names and storage keys


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("../../x", "x"),
        ("../../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("/srv/data/abs.txt", "abs.txt"),
        # httpx percent-encodes quotes and control characters itself, so they are left out here.
        ("<script>|b?.txt", "scriptb.txt"),
        ("..", "attachment"),
    ],
)
async def test_path_like_file_names_are_sanitised_and_stored_under_generated_keys(
    client, world, ticket, storage_root, sent, shown
):
    before = files_under(storage_root)
    base = storage_root.parent.parent
    outside_before = files_under(base) - {f"{storage_root.relative_to(base).as_posix()}/{f}" for f in before}
    r = await upload(
        client,
        world.employee_a,
        ticket["id"],
        (sent, b"Inhalt " + os.urandom(8).hex().encode(), "text/plain"),
    )
    assert r.status_code == 201, r.text
    a = r.json()["items"][0]
    assert a["filename"] == shown
    assert "/" not in a["filename"] and "\\" not in a["filename"]
    new = files_under(storage_root) - before
    assert len(new) == 1 and KEY.fullmatch(new.pop())
    # Nothing appeared next to or above the storage root.
    after_all = files_under(base)
    outside_after = {
        f for f in after_all if not f.startswith(f"{storage_root.relative_to(base).as_posix()}/")
    }
    assert outside_after == outside_before
    r = await client.get(f"{API}/attachments/{a['id']}/content", headers=world.employee_a.headers)
    assert f'filename="{shown}"' in r.headers["content-disposition"]


async def test_non_ascii_file_name_is_kept_and_offered_in_utf8(client, world, ticket):
    r = await upload(
        client, world.employee_a, ticket["id"], ("Übergabe Größe.pdf", pdf(500), "application/pdf")
    )
    assert r.status_code == 201, r.text
    a = r.json()["items"][0]
    assert a["filename"] == "Übergabe Größe.pdf"
    r = await client.get(f"{API}/attachments/{a['id']}/content", headers=world.employee_a.headers)
    assert "filename*=UTF-8''%C3%9Cbergabe%20Gr%C3%B6%C3%9Fe.pdf" in r.headers["content-disposition"]


# Downloads


async def test_download_returns_exact_bytes_with_safe_headers(client, world, ticket):
    # Larger than one storage chunk, so the stream is stitched from several reads.
    report = pdf(700_000)
    photo = png(64, 48)
    text = "Zählerstand: 4711\n".encode()
    r = await upload(
        client,
        world.employee_a,
        ticket["id"],
        ("bericht.pdf", report, "application/octet-stream"),
        ("foto.png", photo, "application/octet-stream"),
        ("stand.txt", text, "application/octet-stream"),
    )
    assert r.status_code == 201, r.text
    by_name = {a["filename"]: a for a in r.json()["items"]}
    expected = {
        "bericht.pdf": (report, "application/pdf", "inline"),
        "foto.png": (photo, "image/png", "inline"),
        "stand.txt": (text, "text/plain", "attachment"),
    }
    for name, (data, content_type, disposition) in expected.items():
        r = await client.get(
            f"{API}/attachments/{by_name[name]['id']}/content", headers=world.employee_a.headers
        )
        assert r.status_code == 200, r.text
        if content_type == "image/png":
            assert pixels(r.content) == pixels(data), name
        else:
            assert r.content == data, name
        assert r.headers["content-type"].split(";")[0] == content_type
        assert r.headers["content-disposition"].startswith(f"{disposition};")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert int(r.headers["content-length"]) == len(r.content) == by_name[name]["size"]


async def test_admin_and_colleague_of_the_tenant_can_download(client, world, ticket, database, ctx):
    async with database.sessionmaker.begin() as s:
        colleague = await make_employee(s, ctx, tenants=[world.tenant_a])
    data = pdf(1000)
    r = await upload(client, world.employee_a, ticket["id"], ("a.pdf", data, "application/pdf"))
    a = r.json()["items"][0]
    for actor in (colleague, world.admin):
        r = await client.get(f"{API}/attachments/{a['id']}/content", headers=actor.headers)
        assert r.status_code == 200 and r.content == data


async def test_unknown_attachment_is_404(client, world):
    r = await client.get(
        f"{API}/attachments/00000000-0000-4000-8000-000000000000/content", headers=world.employee_a.headers
    )
    assert_problem(r, 404)


# Deleting


async def test_deleting_an_attachment_removes_the_stored_object(client, world, ticket, storage_root):
    before = files_under(storage_root)
    r = await upload(
        client,
        world.employee_a,
        ticket["id"],
        ("weg.pdf", pdf(3000), "application/pdf"),
        ("bleibt.pdf", pdf(3000), "application/pdf"),
    )
    gone, kept = r.json()["items"]
    stored = files_under(storage_root) - before
    assert len(stored) == 2

    r = await client.delete(f"{API}/attachments/{gone['id']}", headers=world.employee_a.headers)
    assert r.status_code == 204, r.text
    remaining = files_under(storage_root) - before
    assert len(remaining) == 1 and remaining < stored
    assert_problem(
        await client.get(f"{API}/attachments/{gone['id']}/content", headers=world.employee_a.headers), 404
    )
    assert_problem(
        await client.delete(f"{API}/attachments/{gone['id']}", headers=world.employee_a.headers), 404
    )
    assert [a["id"] for a in await attachment_list(client, world.employee_a, ticket["id"])] == [kept["id"]]
    r = await client.get(f"{API}/attachments/{kept['id']}/content", headers=world.employee_a.headers)
    assert r.status_code == 200
    r = await client.get(f"{API}/tickets/{ticket['id']}/history", headers=world.employee_a.headers)
    deleted = [e for e in r.json()["items"] if e["event"] == "attachment_deleted"]
    assert len(deleted) == 1 and deleted[0]["old_value"]["filename"] == "weg.pdf"
    assert deleted[0]["actor"]["id"] == str(world.employee_a.id)


# Idempotency-Key


async def test_upload_with_the_same_key_and_files_is_stored_once(
    client, world, ticket, storage_root, database, ctx
):
    before = files_under(storage_root)
    data = pdf(2500)
    key = {"Idempotency-Key": "upload-1"}
    first = await upload(
        client, world.employee_a, ticket["id"], ("a.pdf", data, "application/pdf"), headers=key
    )
    again = await upload(
        client, world.employee_a, ticket["id"], ("a.pdf", data, "application/pdf"), headers=key
    )
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert len(await attachment_list(client, world.employee_a, ticket["id"])) == 1
    assert len(files_under(storage_root) - before) == 1

    other = await upload(
        client, world.employee_a, ticket["id"], ("a.pdf", pdf(2500), "application/pdf"), headers=key
    )
    assert_problem(other, 422, ["header", "Idempotency-Key"])
    assert len(await attachment_list(client, world.employee_a, ticket["id"])) == 1

    async with database.sessionmaker.begin() as s:
        colleague = await make_employee(s, ctx, tenants=[world.tenant_a])
    theirs = await upload(client, colleague, ticket["id"], ("a.pdf", data, "application/pdf"), headers=key)
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["items"][0]["id"] != first.json()["items"][0]["id"]
    assert len(await attachment_list(client, world.employee_a, ticket["id"])) == 2
    assert len(files_under(storage_root) - before) == 2


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/octet-stream", "application/octet-stream"),
        ("image/png;q=0.5, application/octet-stream", "application/octet-stream"),
        ("*/*", "image/png"),
        ("image/png, application/octet-stream", "image/png"),
        ("image/*, application/octet-stream;q=0.9", "image/png"),
        ("application/octet-stream;q=0", "image/png"),
        (None, "image/png"),
    ],
)
async def test_a_download_is_labelled_with_its_own_type_unless_plain_bytes_are_preferred(
    client, world, ticket, accept, expected
):
    photo = png(32, 32)
    r = await upload(client, world.employee_a, ticket["id"], ("foto.png", photo, "image/png"))
    [attachment] = r.json()["items"]
    headers = {**world.employee_a.headers, **({"Accept": accept} if accept else {})}
    r = await client.get(f"{API}/attachments/{attachment['id']}/content", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == expected
    assert pixels(r.content) == pixels(photo)
    inline = expected == "image/png"
    assert r.headers["content-disposition"].startswith("inline;" if inline else "attachment;")


def test_downloads_offer_plain_bytes_first_so_generated_clients_read_bytes(app):
    paths = app.openapi()["paths"]
    for path in (
        f"{API}/attachments/{{attachment_id}}/content",
        f"{API}/form-submissions/{{submission_id}}/pdf",
    ):
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert next(iter(content)) == "application/octet-stream", path
        assert all(media["schema"] == {"type": "string", "format": "binary"} for media in content.values())
