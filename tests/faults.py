"""Faults the tests control: a PostgreSQL that stops or stalls, the app served over real sockets.

`PgProxy` is a TCP proxy on 127.0.0.1 in front of the test PostgreSQL. Stopped, it cuts every
connection and refuses new ones (what clients see of a stopped server); stalled, it holds every byte
in both directions (what clients see of a server whose processes are frozen, or of a network that
stopped forwarding). `serve` runs the real application under uvicorn on 127.0.0.1 in the test's
event loop, so raw sockets can misbehave against it. `refusing_attachment_changes` makes the database
refuse changes of attachment rows, at once or at the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from sqlalchemy import text
from sqlalchemy.engine import make_url

from blink_api.kit.http_server import http_protocol


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgProxy:
    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self._target = url
        socket_dir = url.query.get("host")
        self._unix_path = f"{socket_dir}/.s.PGSQL.{url.port or 5432}" if isinstance(socket_dir, str) else None
        self.port = free_port()
        self.url = url.set(host="127.0.0.1", port=self.port, query={}).render_as_string(hide_password=False)
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> PgProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        return self

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self._flowing.set()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def stall(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._unix_path:
            return await asyncio.open_unix_connection(self._unix_path)
        return await asyncio.open_connection(self._target.host or "127.0.0.1", self._target.port or 5432)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._flowing.wait()
            up_reader, up_writer = await self._open_upstream()
        except (OSError, asyncio.CancelledError):
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._tasks.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pipes:
                task.cancel()
                self._tasks.discard(task)
            for w in (writer, up_writer):
                w.transport.abort()
                self._writers.discard(w)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()


@contextlib.asynccontextmanager
async def serve(app: Any, *, head_timeout: float | None = None, kind: str = "auto") -> AsyncIterator[str]:
    """The app under uvicorn (the protocol `blink-api serve` uses) on 127.0.0.1; yields its base URL."""
    protocol = http_protocol(kind)
    if head_timeout is not None:
        protocol = type("TestProtocol", (protocol,), {"head_timeout": head_timeout})
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=protocol, lifespan="on", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


class RawClient:
    """One HTTP/1.1 connection written by hand: slow, partial or abandoned requests."""

    def __init__(self, base_url: str) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def open(self) -> RawClient:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self) -> tuple[int, dict[str, str], bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, body

    async def closed_by_server(self, within: float) -> bool:
        """Whether the server closes the connection (EOF) within `within` seconds."""
        try:
            async with asyncio.timeout(within):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        return True

    def close(self) -> None:
        self.writer.transport.abort()


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@contextlib.asynccontextmanager
async def refusing_attachment_changes(database: Any, when: str) -> AsyncIterator[None]:
    """While the block runs, the database refuses every change of an attachment row: at once, or at the commit
    (a deferred check), as PostgreSQL does when it cancels a statement or a transaction."""
    timing = "DEFERRABLE INITIALLY DEFERRED" if when == "commit" else "NOT DEFERRABLE"
    async with database.sessionmaker.begin() as s:
        await s.execute(
            text(
                "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused by the test' USING ERRCODE = '57014'; END $$"
            )
        )
        await s.execute(
            text(
                f"CREATE CONSTRAINT TRIGGER test_refuse AFTER UPDATE ON attachments {timing} "
                "FOR EACH ROW EXECUTE FUNCTION test_refuse()"
            )
        )
    try:
        yield
    finally:
        async with database.sessionmaker.begin() as s:
            await s.execute(text("DROP TRIGGER test_refuse ON attachments"))
            await s.execute(text("DROP FUNCTION test_refuse()"))
