"""Attachment storage: local files and S3 (a real S3-compatible server), directly and through the API."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from blink_api.app import create_app
from blink_api.kit.storage import FileStorage, ObjectMissing, S3Storage, storage_from_settings
from tests.conftest import make_settings
from tests.faults import refusing_attachment_changes
from tests.kit import API, assert_problem, new_ticket


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def failing_after(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    raise ConnectionResetError("client went away mid-upload")


async def read_all(storage: Any, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key)])


def files_under(root: Path) -> set[str]:
    return (
        {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    )


# Local files


async def test_file_storage_round_trip(tmp_path):
    storage = FileStorage(tmp_path / "files")
    data = os.urandom(600_000)
    await storage.put("attachments/one", chunks(data[:100], data[100:400_000], data[400_000:]))
    assert await read_all(storage, "attachments/one") == data
    assert files_under(tmp_path / "files") == {"attachments/one"}
    # Writing the key again replaces the object.
    await storage.put("attachments/one", chunks(b"kurz"))
    assert await read_all(storage, "attachments/one") == b"kurz"
    await storage.delete("attachments/one")
    assert files_under(tmp_path / "files") == set()
    with pytest.raises(ObjectMissing):
        await read_all(storage, "attachments/one")


async def test_file_storage_reading_a_missing_key_raises_object_missing(tmp_path):
    storage = FileStorage(tmp_path)
    with pytest.raises(ObjectMissing):
        await read_all(storage, "attachments/never-written")
    # Deleting what is already gone is no error: a retried deletion must not fail.
    await storage.delete("attachments/never-written")


@pytest.mark.parametrize("key", ["../escaped", "attachments/../../escaped", "<absolute>"])
async def test_file_storage_refuses_keys_outside_its_root(tmp_path, key):
    if key == "<absolute>":
        # An absolute key would replace the root when joined to it.
        key = str(tmp_path / "escaped-absolute")
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "victim").write_bytes(b"keep me")
    storage = FileStorage(root)
    with pytest.raises(ValueError, match="escapes"):
        await storage.put(key, chunks(b"evil"))
    with pytest.raises(ValueError, match="escapes"):
        await read_all(storage, key)
    with pytest.raises(ValueError, match="escapes"):
        await storage.delete("../victim")
    assert files_under(tmp_path) == {"victim"}
    assert (tmp_path / "victim").read_bytes() == b"keep me"


async def test_file_storage_interrupted_upload_leaves_nothing_behind(tmp_path):
    storage = FileStorage(tmp_path)
    await storage.put("attachments/a", chunks(b"old"))
    with pytest.raises(ConnectionResetError):
        await storage.put("attachments/a", failing_after(b"new but ", b"incomplete"))
    # Neither a half-written object nor a temporary file: the previous version is intact.
    assert files_under(tmp_path) == {"attachments/a"}
    assert await read_all(storage, "attachments/a") == b"old"
    with pytest.raises(ConnectionResetError):
        await storage.put("attachments/b", failing_after(b"x"))
    assert files_under(tmp_path) == {"attachments/a"}


# S3


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class S3:
    endpoint: str
    bucket: str
    client: Any

    def object_keys(self, prefix: str = "") -> set[str]:
        answer = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return {o["Key"] for o in answer.get("Contents", [])}

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()


@pytest.fixture
def s3(moto_endpoint, monkeypatch, tmp_path) -> S3:
    """A fresh bucket, with credentials for it in the environment the app reads them from."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    # Keep the developer's own AWS set-up out of the test.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="eu-central-1")
    bucket = f"blink-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    return S3(moto_endpoint, bucket, client)


async def test_s3_storage_round_trip_in_several_parts(s3):
    storage = S3Storage(s3.bucket, "/blink/files/", s3.endpoint)
    try:
        # More than one 8 MiB part, in chunks that do not line up with the parts.
        data = os.urandom(9 * 1024 * 1024 + 12345)
        pieces = [data[i : i + 300_000] for i in range(0, len(data), 300_000)]
        await storage.put("attachments/big", chunks(*pieces))
        assert s3.object_keys() == {"blink/files/attachments/big"}
        assert s3.get("blink/files/attachments/big") == data
        assert await read_all(storage, "attachments/big") == data

        await storage.put("attachments/empty", chunks())
        assert await read_all(storage, "attachments/empty") == b""

        await storage.delete("attachments/big")
        await storage.delete("attachments/empty")
        assert s3.object_keys() == set()
        with pytest.raises(ObjectMissing):
            await read_all(storage, "attachments/big")
    finally:
        await storage.close()


async def test_s3_storage_reading_a_missing_key_raises_object_missing(s3):
    storage = S3Storage(s3.bucket, "", s3.endpoint)
    try:
        with pytest.raises(ObjectMissing):
            await read_all(storage, "attachments/never-written")
    finally:
        await storage.close()


async def test_s3_storage_without_prefix_stores_the_bare_key(s3):
    storage = S3Storage(s3.bucket, "", s3.endpoint)
    try:
        await storage.put("attachments/k", chunks(b"abc", b"def"))
        assert s3.object_keys() == {"attachments/k"} and s3.get("attachments/k") == b"abcdef"
    finally:
        await storage.close()


async def test_s3_storage_interrupted_upload_leaves_no_object_and_no_open_upload(s3):
    storage = S3Storage(s3.bucket, "p", s3.endpoint)
    try:
        with pytest.raises(ConnectionResetError):
            await storage.put("attachments/broken", failing_after(b"half", b"way"))
    finally:
        await storage.close()
    assert s3.object_keys() == set()
    assert s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


def test_storage_url_selects_the_backend(tmp_path):
    local = storage_from_settings(make_settings(tmp_path, "postgresql+asyncpg://x/y"))
    assert isinstance(local, FileStorage) and local.root == (tmp_path / "data" / "files").resolve()
    remote = storage_from_settings(
        make_settings(
            tmp_path,
            "postgresql+asyncpg://x/y",
            storage_url="s3://bucket-name/some/prefix",
            s3_endpoint_url="http://s3.example.test",
        )
    )
    assert isinstance(remote, S3Storage)
    assert (remote.bucket, remote.prefix, remote.endpoint_url) == (
        "bucket-name",
        "some/prefix",
        "http://s3.example.test",
    )
    for bad in ("s3:///only-prefix", "ftp://host/files"):
        with pytest.raises(ValueError):
            storage_from_settings(make_settings(tmp_path, "postgresql+asyncpg://x/y", storage_url=bad))


async def test_attachments_through_the_api_live_in_s3(s3, tmp_path, database_url, database, world):
    settings = make_settings(
        tmp_path, database_url, storage_url=f"s3://{s3.bucket}/blink/files", s3_endpoint_url=s3.endpoint
    )
    app = create_app(settings, database)
    h = world.employee_a.headers
    report = b"%PDF-1.7\n" + os.urandom(400_000) + b"\n%%EOF\n"
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            r = await client.post(
                f"{API}/tickets",
                headers=h,
                json={
                    "site_id": str(world.site_a1.id),
                    "ticket_type_id": str(world.type_a.id),
                    "title": "S3",
                },
            )
            assert r.status_code == 201, r.text
            ticket = r.json()
            r = await client.post(
                f"{API}/tickets/{ticket['id']}/attachments",
                headers=h,
                files=[
                    ("files", ("../bericht.pdf", report, "text/plain")),
                    ("files", ("b.txt", b"zwei", "text/plain")),
                ],
            )
            assert r.status_code == 201, r.text
            pdf_item, txt_item = r.json()["items"]
            assert pdf_item["content_type"] == "application/pdf" and pdf_item["filename"] == "bericht.pdf"

            keys = s3.object_keys()
            assert len(keys) == 2
            assert all(k.startswith("blink/files/attachments/") for k in keys)
            assert report in {s3.get(k) for k in keys}
            # Nothing went to local files instead.
            assert files_under(tmp_path / "data" / "files") == set()

            r = await client.get(f"{API}/attachments/{pdf_item['id']}/content", headers=h)
            assert r.status_code == 200, r.text
            assert r.content == report
            assert r.headers["content-type"] == "application/pdf"
            assert r.headers["x-content-type-options"] == "nosniff"

            r = await client.delete(f"{API}/attachments/{pdf_item['id']}", headers=h)
            assert r.status_code == 204, r.text
            remaining = s3.object_keys()
            assert len(remaining) == 1 and s3.get(remaining.pop()) == b"zwei"
            r = await client.get(f"{API}/attachments/{pdf_item['id']}/content", headers=h)
            assert r.status_code == 404
            r = await client.get(f"{API}/attachments/{txt_item['id']}/content", headers=h)
            assert r.status_code == 200 and r.content == b"zwei"


async def test_missing_object_in_s3_answers_404_not_500(s3, tmp_path, database_url, database, world):
    settings = make_settings(
        tmp_path, database_url, storage_url=f"s3://{s3.bucket}/x", s3_endpoint_url=s3.endpoint
    )
    app = create_app(settings, database)
    h = world.employee_a.headers
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            r = await client.post(
                f"{API}/tickets",
                headers=h,
                json={
                    "site_id": str(world.site_a1.id),
                    "ticket_type_id": str(world.type_a.id),
                    "title": "S3",
                },
            )
            ticket = r.json()
            r = await client.post(
                f"{API}/tickets/{ticket['id']}/attachments",
                headers=h,
                files=[("files", ("a.txt", b"a", "text/plain"))],
            )
            item = r.json()["items"][0]
            # The object vanished behind the API's back (lifecycle rule, operator, restore from backup).
            for key in s3.object_keys():
                s3.client.delete_object(Bucket=s3.bucket, Key=key)
            r = await client.get(f"{API}/attachments/{item['id']}/content", headers=h)
            assert_problem(r, 404)


async def test_replacing_an_attachment_in_s3_leaves_exactly_the_new_object(
    s3, tmp_path, database_url, database, world
):
    settings = make_settings(
        tmp_path, database_url, storage_url=f"s3://{s3.bucket}/blink", s3_endpoint_url=s3.endpoint
    )
    app = create_app(settings, database)
    h = world.employee_a.headers
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            ticket = await new_ticket(client, h, world.site_a1, world.type_a, "S3")
            r = await client.post(
                f"{API}/tickets/{ticket['id']}/attachments",
                headers=h,
                files=[("files", ("alt.txt", b"alte Fassung", "text/plain"))],
            )
            item = r.json()["items"][0]
            (old_key,) = s3.object_keys()
            url = f"{API}/attachments/{item['id']}/content"

            # Refused, and not committed: the old object stays the only one.
            r = await client.put(
                url, headers=h, files=[("file", ("x.zip", b"PK\x03\x04" + bytes(60), "text/plain"))]
            )
            assert_problem(r, 415)
            async with refusing_attachment_changes(database, "commit"):
                r = await client.put(url, headers=h, files=[("file", ("neu.txt", b"neu", "text/plain"))])
                assert_problem(r, 503)
            assert s3.object_keys() == {old_key}
            assert (await client.get(url, headers=h)).content == b"alte Fassung"

            report = b"%PDF-1.7\n" + os.urandom(300_000) + b"\n%%EOF\n"
            r = await client.put(url, headers=h, files=[("file", ("bericht.pdf", report, "text/plain"))])
            assert r.status_code == 200, r.text
            assert (r.json()["id"], r.json()["content_type"], r.json()["size"]) == (
                item["id"],
                "application/pdf",
                len(report),
            )
            (new_key,) = s3.object_keys()
            assert new_key != old_key and new_key.startswith("blink/attachments/")
            assert s3.get(new_key) == report
            assert (await client.get(url, headers=h)).content == report
