"""Benchmark GET /api/v1/tickets of the real application against a raw-asyncpg baseline.

    python bench/list_tickets.py [--requests 2000] [--warmup 200] [--concurrency 1,10] [--rounds 2]

Needs a database filled by bench/fill.py (DATABASE_URL, or the embedded one under bench/.data).

Starts two servers on free ports of 127.0.0.1, each a subprocess with one uvicorn worker:
  app  `blink-api serve` (uvicorn, the `blink_api.app:create_app` factory), BLINK_EMBEDDED_WORKER=false
  raw  bench/raw_server.py: the same page from one asyncpg query, serialised to the same JSON
Logs in as the bench employee (one tenant, about a fifth of the tickets), checks that both servers
answer the same bytes, then drives both with the same closed-loop load generator (bench/loadgen.py)
for three requests: the first page (limit=50), the second page (following next_cursor) and a
full-text search (q=...). Rounds alternate between the servers so that load from other processes
on the machine hits both alike. Prints requests/s, p50 and p99 latency, the CPU each party used per
request, and the ratio app/raw; writes everything to bench/.data/list_tickets-<time>.json.
Every request goes to 127.0.0.1; the number of requests and the time per run are bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import loadgen
from benchlib import (
    BENCH_DIR,
    DATA_DIR,
    EMBEDDED_PGDATA,
    EMPLOYEE_EMAIL,
    PASSWORD,
    PROJECT_DIR,
    database_url,
    is_embedded,
    run_async,
    sqlalchemy_url,
)

HOST = "127.0.0.1"
TARGET_RATIO = 0.6  # the app should reach at least this share of the raw endpoint's throughput
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    ready_path: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # The child gets its own copy of the file descriptor; ours can close right away.
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT
            )

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{self.port}", timeout=2) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited at start-up:\n{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(self.ready_path)).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer within {START_TIMEOUT} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # uvicorn shuts down gracefully on SIGTERM
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def make_servers(url: str, app_log_level: str, app_variant: str | None = None) -> tuple[Server, Server]:
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    app_port = free_port()
    app_env = {
        **base_env,
        "DATABASE_URL": sqlalchemy_url(url),
        "BLINK_EMBEDDED_WORKER": "false",
        # Nothing of the app's may land in the developer's .data/.
        "BLINK_DATA_DIR": str(DATA_DIR / "app"),
        "STORAGE_URL": f"file://{DATA_DIR / 'app' / 'files'}",
        "LOG_LEVEL": app_log_level,
        "BLINK_DEMO_DATA": "false",
    }
    serve = ["serve", "--host", HOST, "--port", str(app_port)]
    if app_variant:
        # The same `blink-api serve`, with the variant's experimental change patched in (see there).
        launcher = [sys.executable, str(BENCH_DIR / "app_variants.py"), "--variant", app_variant]
    else:
        launcher = [sys.executable, "-m", "blink_api"]
    app = Server(
        "app",
        [*launcher, *serve],
        app_env,
        "/health/live",
        app_port,
        DATA_DIR / "app.log",
    )
    return app, make_raw(url, EMPLOYEE_EMAIL)


def make_raw(url: str, email: str, *, authenticate: bool = False) -> Server:
    """A raw_server.py baseline for `email`; with `authenticate`, the one that checks tokens too."""
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    name = "raw-auth" if authenticate else "raw"
    port = free_port()
    return Server(
        name,
        [
            sys.executable,
            str(BENCH_DIR / "raw_server.py"),
            *("--host", HOST, "--port", str(port), "--email", email),
            *(["--authenticate"] if authenticate else []),
        ],
        {**base_env, "DATABASE_URL": url},
        "/health",
        port,
        DATA_DIR / f"{name}.log",
    )


async def login(app: Server, email: str = EMPLOYEE_EMAIL) -> str:
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{app.port}", timeout=30) as client:
        response = await client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        response.raise_for_status()
        return response.json()["access_token"]


async def fetch(server: Server, path: str, token: str) -> bytes:
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{server.port}", timeout=60) as client:
        response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 200:
            raise RuntimeError(f"{server.name} {path}: {response.status_code} {response.text[:500]}")
        return response.content


async def scenarios(app: Server, baselines: list[Server], token: str, q: str) -> dict[str, str]:
    """The three request paths; checks that every baseline answers each with the app's JSON."""
    first = "/api/v1/tickets?limit=50"
    cursor = json.loads(await fetch(app, first, token))["next_cursor"]
    paths = {
        "page1": first,
        "page2": f"{first}&cursor={cursor}",
        "search": f"{first}&q={quote(q)}",
    }
    for name, path in paths.items():
        print(f"  {name:<6} {path}")
        await check_same(app, baselines, path, token)
    return paths


async def check_same(app: Server, baselines: list[Server], path: str, token: str) -> None:
    """Fails unless every baseline answers `path` with the same JSON as the app."""
    from_app = await fetch(app, path, token)
    for baseline in baselines:
        from_raw = await fetch(baseline, path, token)
        if json.loads(from_app) != json.loads(from_raw):
            raise RuntimeError(f"{path}: {baseline.name} answers differently from the app; fix raw_server.py")
        same = "identical bytes" if from_app == from_raw else "same JSON, different bytes"
        print(f"          {baseline.name}: {len(from_app):,} bytes, {same}")


async def gc_pauses(server: Server, app_variant: str | None) -> float | None:
    """CPU seconds the app's garbage collector has spent so far (app_variants.py only), else None."""
    if server.name != "app" or not app_variant:
        return None
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{server.port}", timeout=10) as client:
        return sum((await client.get("/__bench/gc")).json()["seconds"])


def postmaster_pids() -> list[int]:
    """The embedded server's postmaster (its backends are its children); unknown for DATABASE_URL."""
    pid_file = EMBEDDED_PGDATA / "postmaster.pid"
    if is_embedded() and pid_file.exists():
        return [int(pid_file.read_text().split()[0])]
    return []


def describe(result: loadgen.Result) -> dict[str, Any]:
    per_request = {
        f"cpu_ms_per_request_{party}": round(seconds * 1000 / max(result.requests, 1), 3)
        for party, seconds in result.cpu.items()
        if party != "machine"
    }
    return {
        "requests": result.requests,
        "errors": result.errors,
        "seconds": round(result.seconds, 3),
        "rps": round(result.rps, 1),
        "p50_ms": round(result.percentile(50), 2),
        "p99_ms": round(result.percentile(99), 2),
        "mean_ms": round(result.mean_ms, 2),
        "busy_cores": round(result.cpu.get("machine", 0) / result.seconds, 2) if result.seconds else None,
        **per_request,
    }


def line(label: str, d: dict[str, Any]) -> str:
    cpu = "  ".join(
        f"{k.removeprefix('cpu_ms_per_request_')} {v:.2f}" for k, v in d.items() if k.startswith("cpu_ms")
    )
    return (
        f"  {label:<26} {d['rps']:8.1f} req/s  p50 {d['p50_ms']:7.2f} ms  p99 {d['p99_ms']:7.2f} ms"
        f"  err {d['errors']}  busy cores {d['busy_cores']}  CPU ms/req: {cpu}"
    )


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    url = database_url()
    await database_facts(url)

    app, raw = make_servers(url, args.app_log_level, args.app_variant)
    servers = {"app": app, "raw": raw, "raw-auth": make_raw(url, EMPLOYEE_EMAIL, authenticate=True)}
    for server in servers.values():
        server.start()
    try:
        return await run_scenarios(servers, args, "the baselines answer the app's JSON")
    finally:
        for server in servers.values():
            server.stop()


async def run_scenarios(servers: dict[str, Server], args: argparse.Namespace, checked: str) -> dict[str, Any]:
    """Waits for `servers`, logs in on "app", checks the others answer alike, then compares them all."""
    await asyncio.gather(*(s.wait_ready() for s in servers.values()))
    app = servers["app"]
    token = await login(app)
    print(f"Requests (checked: {checked}):")
    paths = await scenarios(app, [s for name, s in servers.items() if name != "app"], token, args.q)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    results: dict[str, Any] = {}
    for scenario, path in paths.items():
        if scenario not in args.scenarios:
            continue
        for concurrency in args.concurrency:
            key = f"{scenario} c={concurrency}"
            results[key] = await compare(servers, path, headers, concurrency, args, label=key)
    return {"paths": paths, "results": results}


async def compare(
    servers: dict[str, Server],
    path: str,
    headers: dict[str, str],
    concurrency: int,
    args: argparse.Namespace,
    *,
    label: str,
) -> dict[str, Any]:
    """`args.rounds` runs of `path` per server, rotating who goes first; merged figures and ratios.

    The ratios are app req/s over each baseline's (`ratio_app_raw`, `ratio_app_raw-auth`).
    """
    pg = postmaster_pids()
    variant = getattr(args, "app_variant", None)
    rounds: dict[str, list[loadgen.Result]] = {name: [] for name in servers}
    names = list(servers)
    for round_no in range(args.rounds):
        # Rotate who goes first, so a drift in background load hits all servers alike.
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            server = servers[name]
            watch = {"server": [server.pid], **({"postgres": pg} if pg else {})}
            common = {"concurrency": concurrency, "max_seconds": args.max_seconds, "watch": watch}
            await loadgen.run(HOST, server.port, path, headers, requests=args.warmup, **common)
            gc_before = await gc_pauses(server, variant)
            result = await loadgen.run(HOST, server.port, path, headers, requests=args.requests, **common)
            if gc_before is not None:
                result.cpu["app_gc"] = await gc_pauses(server, variant) - gc_before
            rounds[name].append(result)
            print(line(f"{label} {name} #{round_no + 1}", describe(result)))
    merged: dict[str, Any] = {name: describe(loadgen.merge(rs)) for name, rs in rounds.items()}
    for name in names:
        print(line(f"{label} {name} (all rounds)", merged[name]))
    for name in names:
        # The median of the rounds' req/s: one round hit by a neighbour's burst moves it less.
        merged[name]["rps_rounds"] = [round(r.rps, 1) for r in rounds[name]]
        merged[name]["rps_median"] = round(statistics.median(r.rps for r in rounds[name]), 1)
    for name in names[1:]:
        rps = merged[name]["rps"]
        ratio = round(merged["app"]["rps"] / rps, 3) if rps else None
        merged[f"ratio_app_{name}"] = ratio
        # Per round (both servers measured back to back, under about the same background load).
        per_round = [
            round(a.rps / b.rps, 3) for a, b in zip(rounds["app"], rounds[name], strict=True) if b.rps
        ]
        merged[f"ratio_app_{name}_rounds"] = per_round
        merged[f"ratio_app_{name}_median"] = round(statistics.median(per_round), 3) if per_round else None
        print(
            f"  {label}: app/{name} throughput = {ratio} (all rounds); median of the rounds' ratios "
            f"{merged[f'ratio_app_{name}_median']} {per_round}; median req/s app "
            f"{merged['app']['rps_median']} vs {name} {merged[name]['rps_median']}"
        )
    print(flush=True)
    return merged


# --- entry point --------------------------------------------------------------------------------------


async def database_facts(url: str) -> tuple[int, str]:
    """The bench database's ticket count (estimated) and PostgreSQL version, printed; exits when empty."""
    conn = await asyncpg.connect(url)
    try:
        tickets = await conn.fetchval("SELECT reltuples::bigint FROM pg_class WHERE relname = 'tickets'")
        pg_version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    if not tickets or tickets <= 0:
        sys.exit("No tickets: run `python bench/fill.py` first.")
    print(f"Database: ~{tickets:,} tickets, PostgreSQL {pg_version}")
    return tickets, pg_version


def recorded(name: str, args: argparse.Namespace, run: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run a benchmark with the machine's facts and load before and after, kept in
    `bench/.data/<name>-<time>.json`; returns its outcome."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    info = {"started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **machine(), "args": vars(args)}
    print(f"{info['started']}  {info['nproc']} CPUs, {info['ram_gib']} GiB, Python {info['python']}, "
          f"load average {info['loadavg_before']}")  # fmt: skip
    outcome = run_async(run)
    info["loadavg_after"] = os.getloadavg()
    info.update(outcome)
    out = DATA_DIR / f"{name}-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(info, indent=2, default=str))
    print(f"load average after: {info['loadavg_after']}\nwrote {out.relative_to(PROJECT_DIR)}")
    return outcome


def machine() -> dict[str, Any]:
    import psutil

    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_before": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per run")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests before each run")
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 10],
        help="comma-separated numbers of concurrent connections (default 1,10)",
    )
    parser.add_argument(
        "--scenarios",
        type=lambda s: s.split(","),
        default=["page1", "page2", "search"],
        help="comma-separated subset of page1, page2, search",
    )
    parser.add_argument("--rounds", type=int, default=2, help="runs per server, alternating")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time limit of one run")
    parser.add_argument("--q", default="Wasserschaden Keller", help="the full-text search")
    parser.add_argument(
        "--app-log-level", default="INFO", help="the app's LOG_LEVEL (INFO: one access-log line a request)"
    )
    parser.add_argument(
        "--app-variant",
        help="start the app through bench/app_variants.py (stats: adds the GC statistics route)",
    )
    args = parser.parse_args()
    outcome = recorded("list_tickets", args, benchmark(args))
    summarize(outcome["results"])


def summarize(results: dict[str, Any]) -> None:
    print("\nSummary (all rounds); raw = page only, raw-auth = page + token check + principal query:")
    print(f"  {'request':<14} {'app req/s':>10} {'raw req/s':>10} {'auth req/s':>10} {'app p50':>8} "
          f"{'raw p50':>8} {'auth p50':>8} {'app p99':>8} {'app/raw':>8} {'app/auth':>8}")  # fmt: skip
    for key, r in results.items():
        print(
            f"  {key:<14} {r['app']['rps']:>10.1f} {r['raw']['rps']:>10.1f} {r['raw-auth']['rps']:>10.1f} "
            f"{r['app']['p50_ms']:>8.2f} {r['raw']['p50_ms']:>8.2f} {r['raw-auth']['p50_ms']:>8.2f} "
            f"{r['app']['p99_ms']:>8.2f} {r['ratio_app_raw']:>8.2f} {r['ratio_app_raw-auth']:>8.2f}"
        )
    for key, r in results.items():
        if key.startswith("page1"):
            ratio = r["ratio_app_raw"]
            verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
            print(f"Target app >= {TARGET_RATIO} x raw on GET /tickets ({key}): {ratio:.2f} -> {verdict}")


if __name__ == "__main__":
    main()
