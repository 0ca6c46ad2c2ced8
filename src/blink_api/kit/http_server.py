"""The HTTP protocol `blink-api serve` runs uvicorn with: uvicorn's own, plus a deadline for the head.

uvicorn bounds the idle time between requests (`timeout_keep_alive`) but not the time a client
takes to send a request's head: a new connection arms no timer at all, and the first byte of a
request disarms the keep-alive one. A client sending its headers a byte at a time (or nothing)
would hold its connection forever. Here a request's head must be complete within
`BLINK_HEADER_TIMEOUT_SECONDS` of the connection opening or of the previous response, and may not
exceed `MAX_HEAD_BYTES`; the body is bounded by the application (`blink_api.kit.limits`).
What the server answers itself, before the application sees a request (a late head 408, a head too
large 431, a request the HTTP parser cannot read 400), is a problem document like every other error.
"""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from blink_api.kit.config import get_settings
from blink_api.kit.errors import PROBLEM_MEDIA_TYPE
from blink_api.kit.problem_types import problem_type

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - uvicorn[standard] brings httptools
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)

# Larger than any head a browser or client library sends (h11's own bound is 16 KiB).
MAX_HEAD_BYTES = 65_536


def _problem_answer(slug: str, detail: str) -> bytes:
    """A whole HTTP/1.1 answer with the problem document of the registered type `slug`, closing the
    connection: written before any request reached the application, so built here."""
    kind = problem_type(slug)
    body = json.dumps(
        {"type": kind.uri, "title": kind.title, "status": kind.status, "detail": detail}
    ).encode()
    head = (
        f"HTTP/1.1 {kind.status} {HTTPStatus(kind.status).phrase}\r\n"
        f"content-type: {PROBLEM_MEDIA_TYPE}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


_TIMEOUT = _problem_answer("request-timeout", "The request head arrived late; the connection is closed.")
_BAD_REQUEST = _problem_answer("bad-request", "The request is not valid HTTP; the connection is closed.")
_TOO_LARGE = _problem_answer(
    "request-header-fields-too-large", "The request head is larger than 64 KiB; the connection is closed."
)


class _HeadDeadline:
    """Arms a timer whenever a request's head is awaited; the head's arrival disarms it."""

    transport: asyncio.Transport
    # Seconds; unset, BLINK_HEADER_TIMEOUT_SECONDS (a subclass may fix it, as the tests do).
    head_timeout: float | None = None
    _head_timer: asyncio.TimerHandle | None = None
    _head_bytes = 0
    _head_tail = b""  # the last bytes seen, for a head end split between two reads

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        if self.transport.is_closing():
            return
        self._head_bytes = 0
        self._head_tail = b""
        timeout = self.head_timeout or get_settings().header_timeout_seconds
        self._head_timer = asyncio.get_running_loop().call_later(timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _count_head_bytes(self, data: bytes) -> bool:
        """False (and the connection answered and closed) when the head grows beyond MAX_HEAD_BYTES."""
        if self._head_timer is None:
            return True
        # Only the head counts: a body sent in the same read is the application's to bound.
        seen = self._head_tail + data
        end = seen.find(b"\r\n\r\n")
        self._head_bytes += len(data) if end < 0 else max(0, end + 4 - len(self._head_tail))
        self._head_tail = seen[-3:]
        if self._head_bytes <= MAX_HEAD_BYTES:
            return True
        self._disarm_head_timer()
        log.warning("request head too large; connection closed")
        self.transport.write(_TOO_LARGE)
        self.transport.close()
        return False

    def send_400_response(self, msg: str) -> None:
        """A request the HTTP parser cannot read: uvicorn's plain-text 400, as a problem document."""
        self._disarm_head_timer()
        log.info("invalid HTTP request; connection closed (%s)", msg)
        self.transport.write(_BAD_REQUEST)
        self.transport.close()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_bytes:
            log.info("request head not complete in time; connection closed")
            self.transport.write(_TIMEOUT)
        self.transport.close()


class H11WithHeadDeadline(_HeadDeadline, H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._count_head_bytes(data):
            super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the head of a request has been parsed
            self._disarm_head_timer()

    def on_response_complete(self) -> None:
        # Armed first: a pipelined request handled within the call below disarms it again.
        self._arm_head_timer()
        super().on_response_complete()


if HttpToolsProtocol is not None:

    class HttpToolsWithHeadDeadline(_HeadDeadline, HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_head_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._count_head_bytes(data):
                super().data_received(data)

        def on_headers_complete(self) -> None:
            self._disarm_head_timer()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            pipelined = bool(self.pipeline)  # its head has arrived already
            super().on_response_complete()
            if not pipelined:
                self._arm_head_timer()


def http_protocol(kind: str = "auto") -> type[asyncio.Protocol]:
    """The protocol class for uvicorn's `http` option: httptools when installed (as uvicorn's "auto")."""
    if kind in ("auto", "httptools") and HttpToolsProtocol is not None:
        return HttpToolsWithHeadDeadline
    if kind == "httptools":
        raise RuntimeError("httptools is not installed")
    return H11WithHeadDeadline
