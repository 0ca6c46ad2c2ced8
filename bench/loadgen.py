"""A small closed-loop HTTP/1.1 load generator: N workers, each on its own keep-alive connection.

Written on asyncio streams rather than httpx because the client shares two cores with the server and
PostgreSQL: httpx spends several times more CPU per request, which would cap (and blur) the faster
server's figure. Each worker sends a GET, reads the whole response, records the latency and sends the
next one, until the wanted number of requests is done or the time limit passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from dataclasses import dataclass, field

import psutil


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]  # seconds, one per successful request
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds spent per party during the run
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Latency in milliseconds at percentile `p` (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))
        return ordered[rank] * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else float("nan")


def merge(results: list[Result]) -> Result:
    """Several rounds as one: total requests over total time, percentiles over all latencies."""
    cpu: dict[str, float] = {}
    for r in results:
        for party, seconds in r.cpu.items():
            cpu[party] = cpu.get(party, 0.0) + seconds
    return Result(
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
        seconds=sum(r.seconds for r in results),
        latencies=[x for r in results for x in r.latencies],
        cpu=cpu,
    )


class HttpConnection:
    """One keep-alive connection; understands Content-Length and chunked responses."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError):
                await self.writer.wait_closed()

    async def get(self, request: bytes) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked = None, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            return status, await self._read_chunked()
        return status, await self.reader.readexactly(length or 0)

    async def _read_chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


def request_bytes(host: str, port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes (and, for a postmaster, of its backends)."""
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


async def run(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    *,
    requests: int,
    concurrency: int,
    max_seconds: float,
    watch: dict[str, list[int]] | None = None,
) -> Result:
    """`requests` GETs of `path` over `concurrency` connections, timed from the first request on.

    `watch` names groups of processes whose CPU time is measured over the run (e.g. the server and
    PostgreSQL); the client's own CPU time and the whole machine's busy time are always measured.
    """
    request = request_bytes(host, port, path, headers)
    connections = [HttpConnection(host, port) for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in connections))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    issued = 0

    async def worker(conn: HttpConnection, deadline: float) -> None:
        nonlocal issued, errors
        while issued < requests and time.perf_counter() < deadline:
            issued += 1
            began = time.perf_counter()
            try:
                status, _ = await conn.get(request)
            except (ConnectionError, asyncio.IncompleteReadError):
                errors += 1
                await conn.close()
                await conn.open()
                continue
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1

    watch = watch or {}
    cpu_before = {name: cpu_seconds(pids) for name, pids in watch.items()}
    client_before = time.process_time()
    machine_before = psutil.cpu_times()
    started = time.perf_counter()
    await asyncio.gather(*(worker(c, started + max_seconds) for c in connections))
    elapsed = time.perf_counter() - started
    machine_after = psutil.cpu_times()
    cpu = {name: cpu_seconds(pids) - cpu_before[name] for name, pids in watch.items()}
    cpu["client"] = time.process_time() - client_before
    # Busy time of every core (all but idle and iowait): shows how loaded the machine was overall.
    cpu["machine"] = sum(machine_after) - sum(machine_before)
    cpu["machine"] -= (machine_after.idle - machine_before.idle) + (
        machine_after.iowait - machine_before.iowait
    )
    await asyncio.gather(*(c.close() for c in connections))
    return Result(len(latencies), errors, elapsed, latencies, cpu, statuses)
