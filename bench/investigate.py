"""Why is the app slower than the raw endpoint? Two tools, run against the servers list_tickets.py starts.

    python bench/investigate.py explain [--q "Wasserschaden Keller"]
    python bench/investigate.py profile [--scenario page1] [--seconds 20] [--concurrency 10]
                                        [--app-variant stats]
    python bench/investigate.py floor [--app-variant ...]

explain  Sets log_min_duration_statement = 0 on the embedded server while the app answers a few
         requests per scenario, then prints every statement one request runs (with its server-side
         duration) and EXPLAIN (ANALYZE, BUFFERS) of each SELECT. The SELECTs are run as prepared
         statements executed several times, as asyncpg runs them: after five executions PostgreSQL
         may switch a prepared statement to a generic plan, and that is the plan the app then gets.
profile  Records the app process with py-spy during a load run and prints where its event-loop
         thread spends the time (inclusive and self, per function); the raw stacks are kept under
         bench/.data for a flame graph. Needs `pip install py-spy` (a benchmark-only tool).
floor    The app's CPU time per request for GET /health/live, GET /api/v1/me and the ticket list:
         what the framework alone costs, what authentication adds, and what the list adds on top.

Both write their findings to bench/.data/ as well.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import itertools
import json
import re
import sys
from pathlib import Path
from typing import Any

import asyncpg
import loadgen
from benchlib import (
    DATA_DIR,
    EMBEDDED_PGDATA,
    PORTAL_EMAIL,
    PROJECT_DIR,
    database_url,
    is_embedded,
    run_async,
)
from list_tickets import HOST, fetch, login, make_servers, scenarios

# --- explain ------------------------------------------------------------------------------------------

_LOG_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \w+ \[\d+\] ", re.M)
# The extended protocol logs "bind <name>: SQL" (planning happens here for a custom plan) and then
# "execute <name>: SQL"; simple queries (BEGIN, COMMIT) log "statement: SQL".
_DURATION = re.compile(r"LOG:  duration: ([\d.]+) ms  (bind|execute|statement) ?([^:]*): (.*)", re.S)
_PARAMS = re.compile(r"DETAIL:  parameters: (.*)", re.S | re.I)
_PARAM = re.compile(r"\$\d+ = (NULL|'(?:[^']|'')*')")
REQUESTS_PER_SCENARIO = 7


def parse_statements(log_text: str) -> list[dict[str, Any]]:
    """Statements in the order run, each with bind and execute time and its parameters, from
    PostgreSQL's stderr log (log_min_duration_statement = 0)."""
    starts = [m.start() for m in _LOG_ENTRY.finditer(log_text)] + [len(log_text)]
    statements: list[dict[str, Any]] = []
    for a, b in itertools.pairwise(starts):
        body = _LOG_ENTRY.sub("", log_text[a:b], count=1)
        if m := _DURATION.match(body):
            ms, phase, name, sql = float(m.group(1)), m.group(2), m.group(3).strip(), m.group(4).strip()
            last = statements[-1] if statements else None
            if phase == "execute" and last and last["name"] == name and last["execute_ms"] is None:
                last["execute_ms"] = ms  # the execute of the statement just bound
            else:
                statements.append(
                    {
                        "name": name,
                        "bind_ms": ms if phase == "bind" else 0.0,
                        "execute_ms": None if phase == "bind" else ms,
                        "sql": sql,
                        "params": [],
                    }
                )
        elif (m := _PARAMS.match(body)) and statements and not statements[-1]["params"]:
            statements[-1]["params"] = [None if v == "NULL" else v for v in _PARAM.findall(m.group(1))]
    for s in statements:
        s["execute_ms"] = s["execute_ms"] or 0.0
    return statements


async def set_statement_logging(conn: asyncpg.Connection, on: bool) -> None:
    if on:
        await conn.execute("ALTER SYSTEM SET log_min_duration_statement = 0")
    else:
        await conn.execute("ALTER SYSTEM RESET log_min_duration_statement")
    await conn.execute("SELECT pg_reload_conf()")
    await asyncio.sleep(0.5)  # the reload reaches the other backends asynchronously


async def explain_prepared(conn: asyncpg.Connection, sql: str, params: list[str | None]) -> str:
    """EXPLAIN ANALYZE as the app runs it: a prepared statement, executed often enough to be cached."""
    values = ", ".join("NULL" if p is None else p for p in params)
    execute = f"EXECUTE bench_stmt({values})" if params else "EXECUTE bench_stmt"
    await conn.execute(f"PREPARE bench_stmt AS {sql}")
    try:
        for _ in range(6):
            await conn.execute(execute)
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {execute}")
        return "\n".join(r[0] for r in rows)
    finally:
        await conn.execute("DEALLOCATE bench_stmt")


async def explain(args: argparse.Namespace) -> dict[str, Any]:
    if not is_embedded():
        sys.exit("explain changes log_min_duration_statement: only on the embedded server.")
    url = database_url()
    log_file = EMBEDDED_PGDATA / "log"
    app, raw = make_servers(url, "INFO", args.app_variant)
    captured: dict[str, Any] = {}
    conn = await asyncpg.connect(url)
    for server in (app, raw):
        server.start()
    try:
        await asyncio.gather(app.wait_ready(), raw.wait_ready())
        token = await login(app)
        paths = await scenarios(app, [raw], token, args.q)
        for scenario, path in paths.items():
            offset = log_file.stat().st_size
            await set_statement_logging(conn, True)
            try:
                for _ in range(REQUESTS_PER_SCENARIO):
                    await fetch(app, path, token)
            finally:
                await set_statement_logging(conn, False)
            with log_file.open("rb") as f:
                f.seek(offset)
                statements = parse_statements(f.read().decode(errors="replace"))
            # Our own ALTER SYSTEM / pg_reload_conf are logged too; they are not the app's.
            statements = [
                s for s in statements if "ALTER SYSTEM" not in s["sql"] and "pg_reload" not in s["sql"]
            ]
            last = statements[-(len(statements) // REQUESTS_PER_SCENARIO) :] if statements else []
            print(f"\n=== {scenario}: GET {path}")
            print(f"{len(last)} statements per request (server-side bind + execute time, last request):")
            for s in last:
                sql = " ".join(s["sql"].split()) or "(empty statement: the connection pool's pre-ping)"
                print(f"  {s['bind_ms']:7.3f} + {s['execute_ms']:7.3f} ms  {sql[:130]}")
            plans = []
            for s in last:
                if s["sql"].lstrip().upper().startswith("SELECT") and s["sql"].strip() != "SELECT 1":
                    plan = await explain_prepared(conn, s["sql"], s["params"])
                    plans.append({"sql": s["sql"], "params": s["params"], "plan": plan})
                    print(f"\n--- SQL\n{s['sql']}\n--- parameters: {s['params']}\n{plan}")
            captured[scenario] = {"path": path, "statements": last, "plans": plans}
    finally:
        await conn.close()
        for server in (app, raw):
            server.stop()
    return captured


# --- profile ------------------------------------------------------------------------------------------

_LINE_NUMBER = re.compile(r":\d+\)$")


def summarize_stacks(raw_file: Path, top: int) -> dict[str, Any]:
    """Inclusive and self shares per function, over the samples of the event-loop thread only.

    py-spy's raw format is one `frame;frame;... count` line per distinct stack, root first. Worker
    threads idling on their queue are left out; everything else ran on the event-loop thread. Code
    that SQLAlchemy runs inside a greenlet (statement execution, ORM loading) shows up with the
    greenlet as its root, not under uvicorn's frames, so middleware and endpoint shares leave it
    out. Line numbers are dropped so that a function counts once however it was entered.
    """
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw_file.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "Condition.wait (" in stack:
            continue
        frames = [_LINE_NUMBER.sub(")", f) for f in stack.split(";")]
        total += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
        own[frames[-1]] += int(count)

    def shares(counter: collections.Counter[str], n: int) -> list[tuple[float, str]]:
        return [(round(100 * c / total, 1), short(f)) for f, c in counter.most_common(n)]

    return {"samples": total, "inclusive": shares(inclusive, top), "self": shares(own, top // 2)}


def short(frame: str) -> str:
    """`func (/long/path/site-packages/pkg/mod.py)` -> `func (pkg/mod.py)`."""
    return re.sub(r"\((?:.*/site-packages/|.*/lib/python3\.\d+/|.*/src/|.*/bench/)", "(", frame)


async def profile(args: argparse.Namespace) -> dict[str, Any]:
    py_spy = Path(sys.executable).parent / "py-spy"
    if not py_spy.exists():
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    url = database_url()
    app, raw = make_servers(url, args.app_log_level, args.app_variant)
    stamp = f"{dt.datetime.now():%Y%m%d-%H%M%S}"
    raw_file = DATA_DIR / f"profile-{args.scenario}-{args.app_variant or 'app'}-{stamp}.txt"
    for server in (app, raw):
        server.start()
    try:
        await asyncio.gather(app.wait_ready(), raw.wait_ready())
        if args.path:  # any request of another account, e.g. the portal user's evaluation
            token = await login(app, args.email)
            path = args.path
        else:
            token = await login(app)
            path = (await scenarios(app, [raw], token, args.q))[args.scenario]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        await loadgen.run(
            HOST, app.port, path, headers, requests=300, concurrency=args.concurrency, max_seconds=60
        )
        spy = await asyncio.create_subprocess_exec(
            *(str(py_spy), "record", "--pid", str(app.pid), "--duration", str(args.seconds)),
            *("--rate", "250", "--format", "raw", "--output", str(raw_file)),
            stdout=asyncio.subprocess.DEVNULL,
        )
        result = await loadgen.run(
            HOST,
            app.port,
            path,
            headers,
            requests=10**9,  # bounded by time: the profile's duration plus a margin
            concurrency=args.concurrency,
            max_seconds=args.seconds + 2,
            watch={"server": [app.pid]},
        )
        await asyncio.wait_for(spy.wait(), timeout=args.seconds + 60)
    finally:
        for server in (app, raw):
            server.stop()
    cpu_ms = result.cpu["server"] * 1000 / max(result.requests, 1)
    summary = summarize_stacks(raw_file, args.top)
    print(f"\n{result.requests} requests at {result.rps:.1f} req/s; app CPU {cpu_ms:.2f} ms per request")
    stacks = raw_file.relative_to(PROJECT_DIR)
    print(f"py-spy: {summary['samples']} samples of the event-loop thread; stacks in {stacks}")
    print("\nInclusive (share of the event-loop thread's busy samples):")
    for share, frame in summary["inclusive"]:
        print(f"  {share:5.1f}%  {frame}")
    print("\nSelf:")
    for share, frame in summary["self"]:
        print(f"  {share:5.1f}%  {frame}")
    return {
        "path": path,
        "rps": result.rps,
        "app_cpu_ms_per_request": cpu_ms,
        "stacks": str(raw_file),
        **summary,
    }


# --- floor --------------------------------------------------------------------------------------------

FLOOR_PATHS = {
    "GET /health/live (framework, middleware, no auth, no database)": "/health/live",
    "GET /api/v1/me (+ token check, principal query, session)": "/api/v1/me",
    "GET /api/v1/tickets?limit=50 (+ the list itself)": "/api/v1/tickets?limit=50",
}


async def floor(args: argparse.Namespace) -> dict[str, Any]:
    """The app's CPU per request for ever more of the stack: what any endpoint pays before its work."""
    url = database_url()
    app, _ = make_servers(url, args.app_log_level, args.app_variant)
    app.start()
    results: dict[str, Any] = {}
    try:
        await app.wait_ready()
        token = await login(app)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        for label, path in FLOOR_PATHS.items():
            common = {"concurrency": args.concurrency, "max_seconds": 60.0}
            await loadgen.run(HOST, app.port, path, headers, requests=200, **common)
            result = await loadgen.run(
                HOST, app.port, path, headers, requests=args.requests, watch={"server": [app.pid]}, **common
            )
            cpu_ms = result.cpu["server"] * 1000 / max(result.requests, 1)
            results[label] = {"rps": round(result.rps, 1), "app_cpu_ms_per_request": round(cpu_ms, 3)}
            print(f"  {cpu_ms:6.2f} ms CPU/request  {result.rps:7.1f} req/s  {label}")
    finally:
        app.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tool", choices=["explain", "profile", "floor"])
    parser.add_argument("--q", default="Wasserschaden Keller", help="the full-text search")
    parser.add_argument("--app-variant", help="start the app through bench/app_variants.py (see there)")
    parser.add_argument("--scenario", default="page1", choices=["page1", "page2", "search"])
    parser.add_argument("--path", help="profile: this request instead of a scenario (as --email)")
    parser.add_argument("--email", default=PORTAL_EMAIL, help="profile: who sends --path")
    parser.add_argument("--seconds", type=int, default=20, help="profile: how long to record")
    parser.add_argument("--concurrency", type=int, default=10, help="profile: concurrent connections")
    parser.add_argument("--top", type=int, default=50, help="profile: functions to list")
    parser.add_argument("--requests", type=int, default=2000, help="floor: measured requests per path")
    parser.add_argument("--app-log-level", default="INFO")
    args = parser.parse_args()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    tools = {"explain": explain, "profile": profile, "floor": floor}
    outcome = run_async(tools[args.tool](args))
    out = DATA_DIR / f"investigate-{args.tool}-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(outcome, indent=2, default=str))
    print(f"\nwrote {out.relative_to(PROJECT_DIR)}")


if __name__ == "__main__":
    main()
