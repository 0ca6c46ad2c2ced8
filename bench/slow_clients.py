"""Slow clients against `blink-api serve`: does normal traffic still get served, and how fast?

    .venv/bin/python bench/slow_clients.py [--seconds 60] [--rate 200] [--slow 20] [--slow-byte-seconds 1]

Starts `blink-api serve` (one uvicorn worker, default settings, embedded mail worker on) on a free
port of 127.0.0.1, on a database of its own (`blink_slow_clients` on the `DATABASE_URL` server,
else on the embedded server under bench/.data/postgres; dropped and created again on every start),
migrated and holding the demo data plus 300 tickets of the demo employee.

Then two runs of `--seconds` each, normal traffic alone first, then the same with slow clients:
- normal traffic: `GET /api/v1/tickets?limit=50` as the demo employee at `--rate` requests per second
  (open loop: 20 keep-alive connections, each sending on a fixed schedule; a latency is measured
  from the moment the request was due, so a stalled server cannot hide behind a waiting client);
- slow clients: `--slow` connections, each sending an authenticated `POST /api/v1/tickets` (as the
  demo customer user) whose head arrives at once and whose 1,000-byte body arrives one byte every
  `--slow-byte-seconds`; when the server answers or closes, the client opens a new connection and
  starts over, so there are `--slow` of them all the time.
`--rounds` repeats the pair (alternating, so that each pair shares the machine's load of the moment).
Prints, per run, the normal requests' count, statuses, p50/p99/max latency, the slow clients' answers,
the server's CPU per request and how busy the whole machine was; then per round p99 with slow
clients ÷ p99 without (target: at most 2; the median over the rounds decides) and the count of 5xx
answers (target: none). Everything also goes to bench/.data/slow_clients-<time>.json. Every
request goes to 127.0.0.1; every loop is bounded by the run's duration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field

import asyncpg
import httpx
import loadgen
import psutil
from benchlib import DATA_DIR, database_url, plain_url, run_async, sqlalchemy_url
from list_tickets import HOST, Server, free_port
from sqlalchemy.engine import make_url

from blink_api.bootstrap import DEMO_LOGINS

DATABASE = "blink_slow_clients"
PATH = "/api/v1/tickets?limit=50"
CONNECTIONS = 20
SLOW_BODY_BYTES = 1000


@dataclass
class Normal:
    latencies: list[float] = field(default_factory=list)  # seconds, from the due time, 2xx only
    due: list[float] = field(default_factory=list)  # when each of them was due, from the start
    statuses: dict[int, int] = field(default_factory=dict)
    failures: int = 0  # connection errors
    late_starts: int = 0  # requests sent more than 100 ms after they were due


@dataclass
class Slow:
    statuses: dict[int, int] = field(default_factory=dict)
    closed_without_answer: int = 0
    connections: int = 0
    body_bytes_sent: int = 0


async def prepare_database(server_url: str) -> str:
    """A fresh database of its own on the server, so the benchmark never touches another one."""
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()
    return plain_url(make_url(server_url).set(database=DATABASE).render_as_string(hide_password=False))


async def login(client: httpx.AsyncClient, email: str, password: str) -> str:
    r = await client.post("/api/v1/auth/token", data={"username": email, "password": password})
    r.raise_for_status()
    return r.json()["access_token"]


async def seed(client: httpx.AsyncClient, employee: str, tickets: int) -> None:
    """Tickets of the demo employee's tenant, so that the list answers full pages."""
    headers = {"Authorization": f"Bearer {employee}"}
    sites = (await client.get("/api/v1/sites", headers=headers)).json()["items"]
    types = (await client.get("/api/v1/ticket-types", headers=headers)).json()["items"]
    type_id = next(t["id"] for t in types if t["category"] == "standard")
    for i in range(tickets):
        r = await client.post(
            "/api/v1/tickets",
            headers=headers,
            json={"site_id": sites[i % len(sites)]["id"], "ticket_type_id": type_id, "title": f"Bench {i}"},
        )
        r.raise_for_status()


async def normal_traffic(port: int, token: str, rate: float, seconds: float) -> Normal:
    result = Normal()
    request = loadgen.request_bytes(HOST, port, PATH, {"Authorization": f"Bearer {token}"})
    interval = CONNECTIONS / rate  # each connection's own schedule
    started = time.perf_counter() + 0.2

    async def connection(index: int) -> None:
        conn = loadgen.HttpConnection(HOST, port)
        await conn.open()
        due = started + index * interval / CONNECTIONS
        try:
            while due < started + seconds:
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.1:
                    result.late_starts += 1
                try:
                    status, _ = await asyncio.wait_for(conn.get(request), 30)
                except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
                    result.failures += 1
                    await conn.close()
                    await conn.open()
                else:
                    result.statuses[status] = result.statuses.get(status, 0) + 1
                    if 200 <= status < 300:
                        result.latencies.append(time.perf_counter() - due)
                        result.due.append(due - started)
                due += interval
        finally:
            await conn.close()

    await asyncio.gather(*(connection(i) for i in range(CONNECTIONS)))
    return result


async def slow_client(
    port: int, head: bytes, body: bytes, byte_seconds: float, stop: float, out: Slow
) -> None:
    """One slow sender after another on fresh connections, until `stop`."""
    while time.perf_counter() < stop:
        out.connections += 1
        reader, writer = await asyncio.open_connection(HOST, port)
        answer: asyncio.Task[bytes] = asyncio.create_task(reader.read(65536))
        try:
            writer.write(head)
            await writer.drain()
            for i in range(len(body)):
                if answer.done() or time.perf_counter() >= stop:
                    break
                writer.write(body[i : i + 1])
                await writer.drain()
                out.body_bytes_sent += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(answer), byte_seconds)
        except ConnectionError:
            pass
        finally:
            if answer.done() and not answer.cancelled() and answer.exception() is None:
                data = answer.result()
                if data.startswith(b"HTTP/1.1 "):
                    status = int(data[9:12])
                    out.statuses[status] = out.statuses.get(status, 0) + 1
                else:
                    out.closed_without_answer += 1
            answer.cancel()
            writer.transport.abort()


def percentiles(latencies: list[float]) -> dict:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        if not ordered:
            return float("nan")
        return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))] * 1000

    return {
        "requests": len(ordered),
        "p50_ms": round(pct(50), 2),
        "p99_ms": round(pct(99), 2),
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
    }


def summary(normal: Normal, seconds: float) -> dict:
    ordered = sorted(normal.latencies)

    def pct(p: float) -> float:
        if not ordered:
            return float("nan")
        return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))] * 1000

    answered = sum(normal.statuses.values())
    return {
        "requests": answered,
        "req_per_s": round(answered / seconds, 1),
        "statuses": normal.statuses,
        "failures": normal.failures,
        "late_starts": normal.late_starts,
        "p50_ms": round(pct(50), 2),
        "p99_ms": round(pct(99), 2),
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
    }


async def run_once(app: Server, tokens: dict[str, str], args: argparse.Namespace, *, slow: int) -> dict:
    body = json.dumps({"title": "x" * (SLOW_BODY_BYTES - 20)}).encode()[:SLOW_BODY_BYTES]
    head = (
        f"POST /api/v1/tickets HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {tokens['customer']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    slow_result = Slow()
    # Slow clients start first and run a little longer than the measured traffic.
    stop = time.perf_counter() + args.seconds + 3
    slow_tasks = [
        asyncio.create_task(slow_client(app.port, head, body, args.slow_byte_seconds, stop, slow_result))
        for _ in range(slow)
    ]
    if slow:
        await asyncio.sleep(2)
    cpu_before = loadgen.cpu_seconds([app.pid])
    machine_before = psutil.cpu_times()
    began = time.perf_counter()
    normal = await normal_traffic(app.port, tokens["employee"], args.rate, args.seconds)
    elapsed = time.perf_counter() - began
    cpu = loadgen.cpu_seconds([app.pid]) - cpu_before
    machine_after = psutil.cpu_times()
    # Cores busy on average over the run, other processes on the machine included.
    idle = (machine_after.idle - machine_before.idle) + (machine_after.iowait - machine_before.iowait)
    busy = (sum(machine_after) - sum(machine_before) - idle) / elapsed
    await asyncio.gather(*slow_tasks)
    result = summary(normal, elapsed)
    result["slow_clients"] = slow
    result["server_cpu_s"] = round(cpu, 2)
    result["server_cpu_ms_per_request"] = round(cpu * 1000 / max(1, result["requests"]), 2)
    result["machine_busy_cores"] = round(busy, 2)
    result["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    if slow:
        result["slow"] = asdict(slow_result)
    return result


async def run_interleaved(app: Server, tokens: dict[str, str], args: argparse.Namespace) -> dict:
    """Normal traffic for twice `--seconds`, slow clients on in every second window of `--interleave`
    seconds: both conditions sample the same minutes of the machine's load."""
    body = json.dumps({"title": "x" * (SLOW_BODY_BYTES - 20)}).encode()[:SLOW_BODY_BYTES]
    head = (
        f"POST /api/v1/tickets HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {tokens['customer']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    total, window = 2 * args.seconds, args.interleave
    slow_result = Slow()

    async def windows(started: float) -> None:
        index = 0
        while (begin := started + index * window) < started + total:
            end = min(begin + window, started + total)
            if index % 2 == 1:
                await asyncio.gather(
                    *(
                        slow_client(app.port, head, body, args.slow_byte_seconds, end, slow_result)
                        for _ in range(args.slow)
                    )
                )
            await asyncio.sleep(max(0.0, end - time.perf_counter()))
            index += 1

    cpu_before = loadgen.cpu_seconds([app.pid])
    began = time.perf_counter()
    # normal_traffic's schedule starts 0.2 s after it is called.
    controller = asyncio.create_task(windows(began + 0.2))
    normal = await normal_traffic(app.port, tokens["employee"], args.rate, total)
    elapsed = time.perf_counter() - began
    cpu = loadgen.cpu_seconds([app.pid]) - cpu_before
    await controller
    on = [lat for lat, due in zip(normal.latencies, normal.due, strict=True) if int(due // window) % 2 == 1]
    off = [lat for lat, due in zip(normal.latencies, normal.due, strict=True) if int(due // window) % 2 == 0]
    result = summary(normal, elapsed)
    result.update(
        slow_clients=args.slow,
        server_cpu_ms_per_request=round(cpu * 1000 / max(1, result["requests"]), 2),
        load_average_1min_after=round(os.getloadavg()[0], 2),
        without_slow=percentiles(off),
        with_slow=percentiles(on),
        slow=asdict(slow_result),
    )
    return result


def print_run(name: str, r: dict) -> None:
    print(
        f"  {name:<22} {r['requests']:>6} req ({r['req_per_s']}/s)  p50 {r['p50_ms']:>7.2f} ms  "
        f"p99 {r['p99_ms']:>7.2f} ms  max {r['max_ms']:>8.2f} ms  statuses {r['statuses']}  "
        f"conn errors {r['failures']}  late {r['late_starts']}"
    )
    print(
        f"  {'':<22} server CPU {r['server_cpu_ms_per_request']} ms/request, machine busy"
        f" {r['machine_busy_cores']} cores, load average {r['load_average_1min_after']}"
    )
    if "slow" in r:
        s = r["slow"]
        print(
            f"  {'':<22} slow clients: {s['connections']} connections, {s['body_bytes_sent']} body bytes,"
            f" answers {s['statuses']}, closed without answer {s['closed_without_answer']}"
        )


async def interleaved(app: Server, tokens: dict[str, str], args: argparse.Namespace) -> int:
    runs = {}
    for round_ in range(args.rounds):
        key = f"interleaved #{round_ + 1}"
        print(f"-> {key} ({2 * args.seconds:.0f} s, windows of {args.interleave:.0f} s)", flush=True)
        r = runs[key] = await run_interleaved(app, tokens, args)
        for part in ("without_slow", "with_slow"):
            x = r[part]
            print(
                f"  {part:<14} {x['requests']:>6} req  p50 {x['p50_ms']:>7.2f} ms  p99 {x['p99_ms']:>7.2f} ms"
                f"  max {x['max_ms']:>8.2f} ms"
            )
        print(
            f"  statuses {r['statuses']}, conn errors {r['failures']}, late {r['late_starts']}, server CPU"
            f" {r['server_cpu_ms_per_request']} ms/request, load average {r['load_average_1min_after']}"
        )
        s = r["slow"]
        print(f"  slow clients: {s['connections']} connections, answers {s['statuses']}")
    app.stop()
    ratios = [r["with_slow"]["p99_ms"] / r["without_slow"]["p99_ms"] for r in runs.values()]
    server_errors = sum(n for r in runs.values() for s, n in r["statuses"].items() if int(s) >= 500)
    slow_5xx = sum(n for r in runs.values() for s, n in r["slow"]["statuses"].items() if int(s) >= 500)
    print(
        f"\np99 with slow clients / without, per round: {', '.join(f'{x:.2f}' for x in ratios)} (target <= 2)"
    )
    print(f"5xx answers to normal traffic: {server_errors}; to slow clients: {slow_5xx} (target 0)")
    out = DATA_DIR / f"slow_clients-interleaved-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({"args": vars(args), "runs": runs, "p99_ratios": ratios}, indent=2))
    print("wrote", out)
    ratio = sorted(ratios)[len(ratios) // 2]
    return 0 if ratio <= 2 and server_errors == 0 and slow_5xx == 0 else 1


async def main(args: argparse.Namespace) -> int:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    url = await prepare_database(database_url())
    port = free_port()
    _, employee, customer = DEMO_LOGINS
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "DATABASE_URL": sqlalchemy_url(url),
        "BLINK_DEMO_DATA": "true",
        "BLINK_DATA_DIR": str(DATA_DIR / "slow"),
        "STORAGE_URL": f"file://{DATA_DIR / 'slow' / 'files'}",
        "LOG_LEVEL": args.app_log_level,
    }
    command = [sys.executable, "-m", "blink_api", "serve", "--migrate", "--host", HOST, "--port", str(port)]
    app = Server("app", command, env, "/health/ready", port, DATA_DIR / "slow_clients-app.log")
    app.start()
    try:
        await app.wait_ready()
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=30) as client:
            tokens = {
                "employee": await login(client, employee.email, employee.password),
                "customer": await login(client, customer.email, customer.password),
            }
            await seed(client, tokens["employee"], 300)
        print(f"app on {HOST}:{port}, pid {app.pid}; warm-up ...", flush=True)
        await normal_traffic(port, tokens["employee"], args.rate, 5)
        runs = {}
        if args.interleave:
            return await interleaved(app, tokens, args)
        for round_ in range(args.rounds):
            for name, slow in (("normal only", 0), (f"with {args.slow} slow", args.slow)):
                key = f"{name} #{round_ + 1}"
                print(f"-> {key} ({args.seconds:.0f} s)", flush=True)
                runs[key] = await run_once(app, tokens, args, slow=slow)
                print_run(key, runs[key])
    finally:
        app.stop()
    # Each round's pair ran back to back, so it shares the machine's load of the moment best.
    pairs = [
        runs[f"with {args.slow} slow #{n + 1}"]["p99_ms"] / runs[f"normal only #{n + 1}"]["p99_ms"]
        for n in range(args.rounds)
    ]
    ratio = sorted(pairs)[len(pairs) // 2]
    server_errors = sum(n for r in runs.values() for s, n in r["statuses"].items() if int(s) >= 500)
    slow_5xx = sum(
        n
        for r in runs.values()
        if r["slow_clients"]
        for s, n in r["slow"]["statuses"].items()
        if int(s) >= 500
    )
    print(f"\np99 with slow clients / without, per round: {', '.join(f'{x:.2f}' for x in pairs)}")
    print(f"median of the rounds: {ratio:.2f} (target <= 2)")
    print(f"5xx answers to normal traffic: {server_errors}; to slow clients: {slow_5xx} (target 0)")
    out = DATA_DIR / f"slow_clients-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(
        json.dumps(
            {"args": vars(args), "runs": runs, "p99_ratios": pairs, "server_errors": server_errors}, indent=2
        )
    )
    print("wrote", out)
    return 0 if ratio <= 2 and server_errors == 0 and slow_5xx == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=200, help="normal requests per second")
    parser.add_argument("--slow", type=int, default=20, help="slow clients at any time")
    parser.add_argument("--slow-byte-seconds", type=float, default=1.0, help="seconds between body bytes")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--interleave",
        type=float,
        default=0,
        help="instead of separate runs: one run of twice --seconds, slow clients on in every second"
        " window of this many seconds",
    )
    parser.add_argument("--app-log-level", default="WARNING")
    raise SystemExit(run_async(main(parser.parse_args())))
