"""How a stored file is sent back: the headers every download carries, streamed from storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from fastapi.responses import StreamingResponse

from blink_api.files.sniffing import ALLOWED_TYPES, INLINE_TYPES, display_name
from blink_api.kit.errors import NotFound
from blink_api.kit.storage import ObjectMissing, Storage

# What a download may be sent as: the types uploads are accepted as (the type sniffed at upload).
DOWNLOAD_TYPES = {t: {"schema": {"type": "string", "format": "binary"}} for t in sorted(ALLOWED_TYPES)}


def content_disposition(filename: str, content_type: str) -> str:
    """Always one safe header line: the name is cleaned like an upload's (whatever it was stored as),
    offered as ASCII and, per RFC 6266 and RFC 5987, exactly as UTF-8 in `filename*`."""
    kind = "inline" if content_type in INLINE_TYPES else "attachment"
    name = display_name(filename, path=False, fallback="download")
    fallback = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def stored_file(
    storage: Storage, key: str, *, filename: str, content_type: str, size: int
) -> StreamingResponse:
    """A stored object streamed back with the headers every download carries. A missing object
    answers 404 before the response starts."""
    chunks = storage.read(key)
    try:
        first = await anext(chunks, b"")
    except ObjectMissing as exc:
        raise NotFound("The file is missing from storage.") from exc

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(
        body(), media_type=content_type, headers=download_headers(filename, content_type, size)
    )


def download_headers(filename: str, content_type: str, size: int) -> dict[str, str]:
    """What every download carries: a safe name, its length, and no sniffing, scripts or caching."""
    return {
        "Content-Disposition": content_disposition(filename, content_type),
        "Content-Length": str(size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, no-store",
    }
