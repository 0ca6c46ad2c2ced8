"""Body caps from the sender's side: the route decides the cap, not the Content-Type; chunked or
announced, an oversized body is 413 with `instance`; bodies larger than memory's share still arrive
intact."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import httpx

from blink_api.kit.limits import MULTIPART_OVERHEAD
from tests.factories import World
from tests.kit import API, assert_problem

MIB = 1_048_576


def assert_413(r: httpx.Response, path: str) -> dict:
    body = assert_problem(r, 413)
    assert body["type"] == "/problems/payload-too-large"
    assert body["instance"] == path
    assert r.headers["connection"] == "close"
    return body


async def chunks(total: int, size: int = 65_536) -> AsyncIterator[bytes]:
    """A body without Content-Length (sent chunked): its size is known only by reading it."""
    yield b'{"name": "'
    sent = 0
    while sent < total:
        part = min(size, total - sent)
        yield b"a" * part
        sent += part
    yield b'"}'


async def test_chunked_body_over_the_cap_is_413_not_400(client, world: World):
    path = f"{API}/tenants"
    r = await client.post(
        path, headers={**world.admin.headers, "content-type": "application/json"}, content=chunks(2 * MIB)
    )
    assert_413(r, path)


async def test_announced_body_over_the_cap_is_413_before_it_is_read(client, world: World):
    path = f"{API}/tenants"
    read = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal read
        for _ in range(40):
            read += 65_536
            yield b" " * 65_536

    r = await client.post(
        path,
        headers={
            **world.admin.headers,
            "content-type": "application/json",
            "content-length": str(40 * 65_536),
        },
        content=counted(),
    )
    assert_413(r, path)
    assert read <= 65_536  # refused on the announced length, not after reading it


async def test_body_at_the_cap_is_read_and_one_byte_more_is_413(client, world: World):
    path = f"{API}/tenants"
    headers = {**world.admin.headers, "content-type": "application/json"}
    prefix, suffix = b'{"name": "x", "code": "X1"', b"}"
    at_cap = prefix + b" " * (MIB - len(prefix) - len(suffix)) + suffix
    assert len(at_cap) == MIB
    r = await client.post(path, headers=headers, content=at_cap)
    assert r.status_code != 413, r.text
    assert_413(await client.post(path, headers=headers, content=at_cap + b" "), path)


async def test_multipart_content_type_does_not_raise_the_cap_of_a_json_route(client, world: World):
    """Only routes that take files accept upload-sized bodies, whatever the client calls its body."""
    boundary = "grenze"
    form = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n'.encode()
        + b"a" * (2 * MIB)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {**world.admin.headers, "content-type": f"multipart/form-data; boundary={boundary}"}
    for path in (f"{API}/tenants", f"{API}/sites"):
        assert_413(await client.post(path, headers=headers, content=form), path)
    # Chunked, too.

    async def streamed() -> AsyncIterator[bytes]:
        for i in range(0, len(form), 65_536):
            yield form[i : i + 65_536]

    assert_413(await client.post(f"{API}/tenants", headers=headers, content=streamed()), f"{API}/tenants")


async def test_anonymous_large_body_to_a_public_form_is_413(client):
    path = f"{API}/public/forms/irgendein-token/submissions"
    body = b"a" * (20 * 1_000_000)
    for content_type in ("application/json", "multipart/form-data; boundary=x"):
        assert_413(await client.post(path, headers={"content-type": content_type}, content=body), path)


async def test_json_to_an_upload_route_has_the_json_cap(client, world: World):
    path = f"{API}/tickets"
    body = b'{"title": "' + b"a" * (2 * MIB) + b'"}'
    r = await client.post(
        path, headers={**world.employee_a.headers, "content-type": "application/json"}, content=body
    )
    assert_413(r, path)


async def test_upload_larger_than_memory_arrives_intact(client, world: World, settings):
    """A multipart body of several MiB is spooled to disk before the endpoint runs and replayed whole."""
    assert settings.max_upload_bytes > 3 * MIB + MULTIPART_OVERHEAD
    report = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + os.urandom(3 * MIB) + b"%%EOF\n"
    r = await client.post(
        f"{API}/tickets",
        headers=world.employee_a.headers,
        data={"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Gutachten"},
        files=[("files", ("gutachten.pdf", report, "application/pdf"))],
    )
    assert r.status_code == 201, r.text
    ticket_id = r.json()["id"]
    r = await client.get(f"{API}/tickets/{ticket_id}/attachments", headers=world.employee_a.headers)
    [attachment] = r.json()["items"]
    assert attachment["size"] == len(report)
    r = await client.get(f"{API}/attachments/{attachment['id']}/content", headers=world.employee_a.headers)
    assert r.status_code == 200, r.text
    assert hashlib.sha256(r.content).digest() == hashlib.sha256(report).digest()
