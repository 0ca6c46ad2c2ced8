"""Where attachment bytes live: local files or any S3-compatible store, behind one small interface."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import anyio

from blink_api.kit.config import Settings

CHUNK = 256 * 1024


class ObjectMissing(Exception):
    pass


class Storage(Protocol):
    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None: ...

    def read(self, key: str) -> AsyncIterator[bytes]: ...

    async def delete(self, key: str) -> None: ...

    async def close(self) -> None: ...


class FileStorage:
    """Objects as files under a root folder; written to a temporary name, then renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError("storage key escapes the storage root")
        return path

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        path = self._path(key)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        await anyio.Path(path.parent).mkdir(parents=True, exist_ok=True)
        try:
            async with await anyio.open_file(tmp, "wb") as out:
                async for chunk in chunks:
                    await out.write(chunk)
            await anyio.Path(tmp).rename(path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    async def read(self, key: str) -> AsyncIterator[bytes]:
        try:
            handle = await anyio.open_file(self._path(key), "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        async with handle:
            while chunk := await handle.read(CHUNK):
                yield chunk

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await anyio.Path(self._path(key)).unlink()

    async def close(self) -> None:
        return None


class S3Storage:
    """Objects in an S3 bucket under a prefix, through aiobotocore; uploads go in multipart parts."""

    PART = 8 * 1024 * 1024

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self._stack = contextlib.AsyncExitStack()
        self._client = None

    async def _s3(self):  # type: ignore[no-untyped-def]
        if self._client is None:
            from aiobotocore.session import get_session

            self._client = await self._stack.enter_async_context(
                get_session().create_client("s3", endpoint_url=self.endpoint_url)
            )
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        s3 = await self._s3()
        upload = await s3.create_multipart_upload(Bucket=self.bucket, Key=self._key(key))
        upload_id, parts, buffer = upload["UploadId"], [], bytearray()

        async def send(data: bytes) -> None:
            number = len(parts) + 1
            answer = await s3.upload_part(
                Bucket=self.bucket, Key=self._key(key), UploadId=upload_id, PartNumber=number, Body=data
            )
            parts.append({"ETag": answer["ETag"], "PartNumber": number})

        try:
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= self.PART:
                    await send(bytes(buffer))
                    buffer.clear()
            if buffer or not parts:
                await send(bytes(buffer))
            await s3.complete_multipart_upload(
                Bucket=self.bucket, Key=self._key(key), UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await s3.abort_multipart_upload(Bucket=self.bucket, Key=self._key(key), UploadId=upload_id)
            raise

    async def read(self, key: str) -> AsyncIterator[bytes]:
        s3 = await self._s3()
        try:
            answer = await s3.get_object(Bucket=self.bucket, Key=self._key(key))
        except s3.exceptions.NoSuchKey as exc:
            raise ObjectMissing(key) from exc
        async with answer["Body"] as body:
            while chunk := await body.read(CHUNK):
                yield chunk

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=self._key(key))

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None


def storage_from_settings(settings: Settings) -> Storage:
    url = urlparse(settings.storage_url)
    if url.scheme == "file":
        # file://.data/files is relative to the working directory; file:///srv/files is absolute.
        return FileStorage(Path(url.netloc + url.path))
    if url.scheme == "s3":
        if not url.netloc:
            raise ValueError("STORAGE_URL s3://bucket/prefix needs a bucket")
        return S3Storage(url.netloc, url.path, settings.s3_endpoint_url)
    raise ValueError("STORAGE_URL must start with file:// or s3://")
