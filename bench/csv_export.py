"""Benchmark the CSV export: `GET /api/v1/tickets` with `Accept: text/csv`, time and the app's memory.

    python bench/csv_export.py [--callers admin,employee,portal] [--rounds 2] [--sample-ms 20]

Needs a database filled by bench/fill.py (1,000,000 tickets). Starts the real application (`blink-api
serve`, one uvicorn worker, as bench/list_tickets.py does), logs in as the bench administrator (every
ticket), the bench employee (one tenant, about a fifth) and the bench customer user, and downloads
each caller's export `--rounds` times with a streaming client that reads as fast as it can. Measured
per download: time to the first byte, total time, bytes and rows (counted by line ends; the header
parsed back with `csv`), rows per
second; the app process's resident memory (RSS) sampled every `--sample-ms` by psutil, reported as
its value before the download and its peak during it, and the kernel's high-water mark (`VmHWM` of
/proc/<pid>/status) before and after the whole run. For comparison, the JSON list's first page and
the RSS after it. Writes bench/.data/csv_export-<time>.json. Every request goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from benchlib import ADMIN_EMAIL, DATA_DIR, EMPLOYEE_EMAIL, PORTAL_EMAIL, database_url, run_async
from list_tickets import HOST, Server, login, machine, make_servers

CALLERS = {"admin": ADMIN_EMAIL, "employee": EMPLOYEE_EMAIL, "portal": PORTAL_EMAIL}
MIB = 2**20


def high_water_mark(pid: int) -> int:
    """The process's peak resident memory so far (bytes), as the kernel counts it."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


async def sample_rss(process: psutil.Process, every: float, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], process.memory_info().rss)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def download(app: Server, token: str, process: psutil.Process, every: float) -> dict[str, Any]:
    """One export, read as fast as the client can; the app's RSS sampled meanwhile."""
    before, hwm_before = process.memory_info().rss, high_water_mark(process.pid)
    peak, stop = [before], asyncio.Event()
    sampler = asyncio.create_task(sample_rss(process, every, peak, stop))
    size, chunks, first_byte = 0, 0, None
    rows, header = 0, b""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/csv"}
    began = time.perf_counter()
    async with (
        httpx.AsyncClient(base_url=f"http://{HOST}:{app.port}", timeout=120) as client,
        client.stream("GET", "/api/v1/tickets", headers=headers) as response,
    ):
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {(await response.aread())[:500]!r}")
        async for chunk in response.aiter_raw():
            if first_byte is None:
                first_byte = time.perf_counter() - began
            size += len(chunk)
            chunks += 1
            # Rows counted by their line feeds (no cell of the export holds a line break): parsing all
            # of them here would take CPU from the server on the same cores.
            rows += chunk.count(b"\n")
            if len(header) < 200:
                header += chunk[:200]
    elapsed = time.perf_counter() - began
    stop.set()
    await sampler
    first = next(csv.reader(io.StringIO(header.decode("utf-8-sig").split("\r\n")[0])))
    assert header.startswith(b"\xef\xbb\xbf") and first[0] == "number" and len(first) == 10, first
    return {
        "rows": rows - 1,  # the header
        "bytes": size,
        "chunks": chunks,
        "first_byte_s": round(first_byte or elapsed, 3),
        "seconds": round(elapsed, 2),
        "rows_per_s": round((rows - 1) / elapsed),
        "rss_before_mib": round(before / MIB, 1),
        "rss_peak_mib": round(peak[0] / MIB, 1),
        # The kernel's peak so far: it rises during a download only if the export itself peaked
        # higher than before (log-ins hash with Argon2, 64 MiB each, and set it earlier).
        "hwm_before_mib": round(hwm_before / MIB, 1),
        "hwm_after_mib": round(high_water_mark(process.pid) / MIB, 1),
    }


async def json_page(app: Server, token: str, process: psutil.Process) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{app.port}", timeout=60) as client:
        began = time.perf_counter()
        response = await client.get("/api/v1/tickets?limit=50", headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        return {
            "seconds": round(time.perf_counter() - began, 4),
            "rss_after_mib": round(process.memory_info().rss / MIB, 1),
        }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = database_url()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    app, _ = make_servers(url, "WARNING")
    app.start()
    try:
        await app.wait_ready()
        process = psutil.Process(app.pid)
        results: dict[str, Any] = {
            "machine": machine(),
            "started_at": dt.datetime.now(dt.UTC).isoformat(),
            "rss_at_start_mib": round(process.memory_info().rss / MIB, 1),
            "hwm_at_start_mib": round(high_water_mark(app.pid) / MIB, 1),
            "callers": {},
        }
        for name in args.callers:
            token = await login(app, CALLERS[name])
            runs = []
            for round_ in range(args.rounds):
                runs.append(await download(app, token, process, args.sample_ms / 1000))
                print(f"{name:<9} round {round_ + 1}: {runs[-1]}", flush=True)
            results["callers"][name] = {"json_page1": await json_page(app, token, process), "runs": runs}
        results["hwm_at_end_mib"] = round(high_water_mark(app.pid) / MIB, 1)
        results["loadavg_after"] = os.getloadavg()
        return results
    finally:
        app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=lambda s: s.split(","), default=list(CALLERS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sample-ms", type=float, default=20.0)
    args = parser.parse_args()
    results = run_async(run(args))
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    out = DATA_DIR / f"csv_export-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "callers"}, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
