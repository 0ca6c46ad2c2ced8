"""How a stored file is sent back: the headers every download carries, streamed from storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from fastapi.responses import StreamingResponse

from blink_api.files.sniffing import ALLOWED_TYPES, INLINE_TYPES, display_name
from blink_api.kit.csv_export import media_weights
from blink_api.kit.errors import NotFound
from blink_api.kit.storage import ObjectMissing, Storage

GENERIC_TYPE = "application/octet-stream"
_BINARY = {"schema": {"type": "string", "format": "binary"}}
# What a download may be sent as: the types uploads are accepted as (the type sniffed at upload), or
# plain bytes for a client that asks for them (first, so that generated clients read bytes).
DOWNLOAD_TYPES = {GENERIC_TYPE: _BINARY, **dict.fromkeys(sorted(ALLOWED_TYPES), _BINARY)}


def binary_content(content_type: str) -> dict[str, Any]:
    """OpenAPI `content` of a download that is always of `content_type` (or plain bytes, asked for)."""
    return {GENERIC_TYPE: _BINARY, content_type: _BINARY}


def sent_as(accept: str | None, content_type: str) -> str:
    """The type a download is labelled with: its own, unless the client asked for
    `application/octet-stream` with a greater weight than any range matching the file's own type
    (`Accept: application/octet-stream` alone, as a client that only handles bytes sends it)."""
    if not accept or GENERIC_TYPE not in accept.lower():
        return content_type
    weights = media_weights(accept)
    own = weights.get(content_type, weights.get(content_type.split("/")[0] + "/*", weights.get("*/*", 0.0)))
    return GENERIC_TYPE if weights.get(GENERIC_TYPE, 0.0) > own else content_type


def content_disposition(filename: str, content_type: str) -> str:
    """Always one safe header line: the name is cleaned like an upload's (whatever it was stored as),
    offered as ASCII and, per RFC 6266 and RFC 5987, exactly as UTF-8 in `filename*`."""
    kind = "inline" if content_type in INLINE_TYPES else "attachment"
    name = display_name(filename, path=False, fallback="download")
    fallback = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def stored_file(
    storage: Storage, key: str, *, filename: str, content_type: str, size: int, accept: str | None = None
) -> StreamingResponse:
    """A stored object streamed back with the headers every download carries, labelled as `sent_as`
    says for the request's `accept`. A missing object answers 404 before the response starts."""
    chunks = storage.read(key)
    try:
        first = await anext(chunks, b"")
    except ObjectMissing as exc:
        raise NotFound("The file is missing from storage.") from exc

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    label = sent_as(accept, content_type)
    return StreamingResponse(body(), media_type=label, headers=download_headers(filename, label, size))


def download_headers(filename: str, content_type: str, size: int) -> dict[str, str]:
    """What every download carries: a safe name, its length, and no sniffing, scripts or caching."""
    return {
        "Content-Disposition": content_disposition(filename, content_type),
        "Content-Length": str(size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, no-store",
    }
