"""Request bodies are read in full, within a deadline and a size cap, before the endpoint runs.

An endpoint takes its database connection (the session, the caller) before it reads the body, so a
client sending its body slowly would hold that connection as long as it likes. Here the body is
received first: small ones in memory, larger ones spooled to a temporary file, then replayed to the
application. A client that sends too slowly gets 408, one that sends too much 413 (announced or
chunked alike), one that goes away is logged as gone; none of them ever reaches the database.

The cap follows the route, not what the client says the body is: a multipart body to a route that
takes files (a `File` parameter, or a multipart request body documented by hand) may have
`max_upload` bytes plus multipart framing; every other body `max_body`, whatever its Content-Type.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import tempfile
from collections.abc import Iterable
from typing import IO, Any

from fastapi import params
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blink_api.kit.errors import problem_response

log = logging.getLogger(__name__)

MULTIPART_OVERHEAD = 1_048_576
# Bodies up to this size stay in memory; larger ones go to a temporary file, so that many large
# uploads at once do not sit in RAM.
MEMORY_BYTES = 1_048_576
_REPLAY_CHUNK = 1_048_576


def takes_uploads(route: APIRoute) -> bool:
    """Whether the route accepts files: a `File` parameter or a multipart body in `openapi_extra`."""
    if any(isinstance(field.field_info, params.File) for field in route.dependant.body_params):
        return True
    content = (route.openapi_extra or {}).get("requestBody", {}).get("content", {})
    return "multipart/form-data" in content


def upload_routes(routes: Iterable[Any]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Path patterns and methods of the routes that take uploads, from the app's route table."""
    found = []
    for rc in iter_route_contexts(list(routes)):
        route = rc.original_route
        if isinstance(route, APIRoute) and rc.path and takes_uploads(route):
            found.append((compile_path(rc.path)[0], frozenset(route.methods or ())))
    return found


class _Refusal(Exception):
    """A request answered before the application sees it, with the problem of the registered type `slug`."""

    def __init__(self, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.slug, self.detail = slug, detail


class _Disconnected(Exception):
    pass


class _Body:
    """The received bytes: in memory up to MEMORY_BYTES, then in a temporary file written off the loop."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.pending = 0
        self.file: IO[bytes] | None = None

    async def add(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.chunks.append(chunk)
        self.pending += len(chunk)
        if self.pending >= MEMORY_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        data, self.chunks, self.pending = b"".join(self.chunks), [], 0
        if self.file is None:
            self.file = await asyncio.to_thread(tempfile.TemporaryFile)
        await asyncio.to_thread(self.file.write, data)

    async def finish(self) -> None:
        if self.file is not None and self.chunks:
            await self._flush()
        if self.file is not None:
            await asyncio.to_thread(self.file.seek, 0)

    def replay(self, receive: Receive) -> Receive:
        """A `receive` giving the body, then passing on what the server sends next (a disconnect)."""
        done = False

        async def replaying_receive() -> Message:
            nonlocal done
            if done:
                return await receive()
            if self.file is None:
                done = True
                return {"type": "http.request", "body": b"".join(self.chunks), "more_body": False}
            data = await asyncio.to_thread(self.file.read, _REPLAY_CHUNK)
            done = len(data) < _REPLAY_CHUNK
            if done:
                return {"type": "http.request", "body": data, "more_body": False}
            return {"type": "http.request", "body": data, "more_body": True}

        return replaying_receive

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class RequestBodyMiddleware:
    """Reads the whole body before the application runs; see the module's docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        max_upload: int,
        timeout_seconds: float,
        min_bytes_per_second: int,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload + MULTIPART_OVERHEAD
        self.timeout_seconds = timeout_seconds
        self.min_bytes_per_second = min_bytes_per_second
        self._uploads: list[tuple[re.Pattern[str], frozenset[str]]] | None = None

    def limit(self, scope: Scope, multipart: bool) -> int:
        if not multipart:
            return self.max_body
        if self._uploads is None:
            # Built on the first request: by then every route is in the table.
            self._uploads = upload_routes(getattr(scope.get("app"), "routes", []))
        path, method = scope["path"], scope["method"]
        for pattern, methods in self._uploads:
            if method in methods and pattern.match(path):
                return self.max_upload
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = multipart = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"content-type":
                multipart = value[:19].lower() == b"multipart/form-data"
        if not chunked and (length is None or length.strip() in (b"", b"0")):
            # No body to wait for (the server rejects a malformed length before we see it).
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope, multipart)
        body = _Body()
        try:
            if length is not None and length.strip().isdigit() and int(length) > limit:
                raise _too_large(limit)
            await self._receive_all(receive, body, limit)
        except _Refusal as refusal:
            body.close()
            await _refuse(scope, receive, send, refusal)
            return
        except _Disconnected:
            body.close()
            log.info("client disconnected while sending the body", extra={"path": scope["path"]})
            return
        try:
            await self.app(scope, body.replay(receive), send)
        finally:
            body.close()

    async def _receive_all(self, receive: Receive, body: _Body, limit: int) -> None:
        """Every `http.request` message, within an allowance that grows with the bytes received."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        received = 0
        while True:
            deadline = started + self.timeout_seconds + received / self.min_bytes_per_second
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _Refusal(
                    "request-timeout", "The request body arrived too slowly; send it again at a steady pace."
                ) from None
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            await body.add(chunk)
            if not message.get("more_body", False):
                await body.finish()
                return


def _too_large(limit: int) -> _Refusal:
    return _Refusal(
        "payload-too-large", f"The request body is larger than the {limit} bytes this endpoint accepts."
    )


async def _refuse(scope: Scope, receive: Receive, send: Send, refusal: _Refusal) -> None:
    # The rest of the body is never read, so the connection cannot carry another request.
    response = problem_response(
        refusal.slug,
        detail=refusal.detail,
        headers={"Connection": "close"},
        instance=scope["path"],
    )
    with contextlib.suppress(OSError):
        await response(scope, receive, send)
