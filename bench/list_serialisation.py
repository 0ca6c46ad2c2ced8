"""Who writes the ticket list's JSON: PostgreSQL (the app) or pydantic-core over plain rows (`rows`).

    python bench/list_serialisation.py [--rounds 5] [--requests 1000] [--warmup 100]
                                       [--concurrency 10,1] [--before REV] [--without-rows]

Needs a database filled by bench/fill.py (DATABASE_URL, or the embedded one under bench/.data).

Starts, each a subprocess with one uvicorn worker on a free port of 127.0.0.1:
  app         `blink-api serve`: PostgreSQL writes each item's JSON (`TICKET_READ.json()`)
  app-rows    the same app through bench/app_variants.py --variant rows: the same statement reads
              the projection's columns as rows, pydantic-core (`to_json`) writes the page
  before      (with --before REV) `blink-api serve` from the source tree of git revision REV
              (`git archive`, run with this checkout's virtual environment), to show that the
              change did not make the list slower
  raw         bench/raw_server.py for the bench employee: the page from one asyncpg query
  raw-portal  the same for the bench customer user (50 sites)
Three lists: the employee's first page (limit=50), its second page (following next_cursor) and the
customer user's first page. Before measuring, every app must answer each list with the same bytes,
and the raw servers with the same JSON.

Each round runs every list at every concurrency on every server once, the order of the servers
rotating from round to round, so that load from other processes on the machine falls on all of them
alike. Reported per list and concurrency: the median over the rounds of each server's requests/s,
and the median (with the lowest and highest) of each app's ratio to the raw server of the same
round. Writes everything to bench/.data/list_serialisation-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import loadgen
from benchlib import DATA_DIR, EMPLOYEE_EMAIL, PORTAL_EMAIL, PROJECT_DIR, database_url
from list_tickets import (
    HOST,
    Server,
    database_facts,
    describe,
    fetch,
    free_port,
    line,
    login,
    make_raw,
    make_servers,
    recorded,
)

TARGET_RATIO = 0.7  # app-rows must reach this share of raw at concurrency 10 on every list to be kept


def before_server(app: Server, revision: str) -> Server:
    """`app` run from the source tree of `revision` (this checkout's dependencies)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision], cwd=PROJECT_DIR, check=True, capture_output=True, text=True
    ).stdout.strip()
    tree = DATA_DIR / f"src-{commit}"
    if not (tree / "src").is_dir():
        archive = DATA_DIR / f"src-{commit}.tar"
        subprocess.run(
            ["git", "archive", "--format=tar", "-o", str(archive), commit, "src"], cwd=PROJECT_DIR, check=True
        )
        with tarfile.open(archive) as tar:
            tar.extractall(tree, filter="data")
        archive.unlink()
    env = {**app.env, "PYTHONPATH": str(tree / "src")}
    port = free_port()
    command = [sys.executable, "-m", "blink_api", "serve", "--host", HOST, "--port", str(port)]
    log_path = DATA_DIR / "before.log"
    return replace(app, name=f"before ({commit})", command=command, env=env, port=port, log_path=log_path)


def imported_from(server: Server) -> None:
    """Fails unless `server` runs the source it should (PYTHONPATH ahead of the editable install)."""
    tree = server.env.get("PYTHONPATH")
    if tree is None:
        return
    probe = subprocess.run(
        [sys.executable, "-c", "import blink_api; print(blink_api.__file__)"],
        env=server.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not probe.startswith(tree):
        raise RuntimeError(f"{server.name} would import blink_api from {probe}, not from {tree}")


async def lists(app: Server, employee: str, portal: str) -> dict[str, tuple[str, str, str]]:
    """Each list: its path, the token it is asked with and the raw server that answers it."""
    first = "/api/v1/tickets?limit=50"
    cursor = json.loads(await fetch(app, first, employee))["next_cursor"]
    return {
        "employee page 1": (first, employee, "raw"),
        "employee page 2": (f"{first}&cursor={cursor}", employee, "raw"),
        "customer user list": (first, portal, "raw-portal"),
    }


async def check(apps: list[Server], raws: dict[str, Server], todo: dict[str, tuple[str, str, str]]) -> None:
    for name, (path, token, raw) in todo.items():
        answers = {app.name: await fetch(app, path, token) for app in apps}
        if len(set(answers.values())) != 1:
            raise RuntimeError(f"{name}: the apps answer different bytes: {list(answers)}")
        body = next(iter(answers.values()))
        if json.loads(await fetch(raws[raw], path, token)) != json.loads(body):
            raise RuntimeError(f"{name}: {raw} answers differently from the apps")
        items = len(json.loads(body)["items"])
        print(f"  {name:<19} {path[:60]:<60} {items} items, {len(body):,} bytes, the same from every app")


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    url = database_url()
    await database_facts(url)

    app, raw = make_servers(url, args.app_log_level)
    rows, _ = make_servers(url, args.app_log_level, "rows")
    rows = replace(rows, name="app-rows", log_path=DATA_DIR / "app-rows.log")
    apps = (
        [app]
        + ([] if args.without_rows else [rows])
        + ([before_server(app, args.before)] if args.before else [])
    )
    portal = make_raw(url, PORTAL_EMAIL)
    raws = {
        "raw": raw,
        "raw-portal": replace(portal, name="raw-portal", log_path=DATA_DIR / "raw-portal.log"),
    }
    for server in apps:
        imported_from(server)
    servers = [*apps, *raws.values()]
    print("Servers: " + ", ".join(f"{s.name} :{s.port}" for s in servers))
    for server in servers:
        server.start()
    try:
        await asyncio.gather(*(s.wait_ready() for s in servers))
        employee, customer = await login(app, EMPLOYEE_EMAIL), await login(app, PORTAL_EMAIL)
        todo = await lists(app, employee, customer)
        print("Lists (checked: every app answers the same bytes, the raw servers the same JSON):")
        await check(apps, raws, todo)
        runs = await measure(apps, raws, todo, args)
    finally:
        for server in servers:
            server.stop()
    return {"lists": {k: v[0] for k, v in todo.items()}, "runs": runs, "summary": summarize(runs)}


async def measure(
    apps: list[Server],
    raws: dict[str, Server],
    todo: dict[str, tuple[str, str, str]],
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for round_no in range(args.rounds):
        for name, (path, token, raw_name) in todo.items():
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            for concurrency in args.concurrency:
                cell = [*apps, raws[raw_name]]
                shift = round_no % len(cell)
                for server in cell[shift:] + cell[:shift]:
                    common = {
                        "concurrency": concurrency,
                        "max_seconds": args.max_seconds,
                        "watch": {"server": [server.pid]},
                    }
                    await loadgen.run(HOST, server.port, path, headers, requests=args.warmup, **common)
                    result = await loadgen.run(
                        HOST, server.port, path, headers, requests=args.requests, **common
                    )
                    figures = describe(result)
                    role = "raw" if server.name.startswith("raw") else server.name
                    runs.append(
                        {
                            "round": round_no + 1,
                            "list": name,
                            "concurrency": concurrency,
                            "server": role,
                            **figures,
                        }
                    )
                    print(line(f"#{round_no + 1} {name} c={concurrency} {server.name}", figures), flush=True)
    return runs


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per list and concurrency: median req/s and server CPU per request of each server, and the median
    of each app's ratio to raw, round by round."""
    cells: dict[tuple[str, int], dict[str, dict[int, float]]] = {}
    cpu: dict[tuple[str, int, str], list[float]] = {}
    for run in runs:
        cell = cells.setdefault((run["list"], run["concurrency"]), {})
        cell.setdefault(run["server"], {})[run["round"]] = run["rps"]
        cpu.setdefault((run["list"], run["concurrency"], run["server"]), []).append(
            run["cpu_ms_per_request_server"]
        )
    summary = []
    for (name, concurrency), by_server in cells.items():
        raw = by_server["raw"]
        entry: dict[str, Any] = {"list": name, "concurrency": concurrency}
        for server, rounds in by_server.items():
            entry[f"{server} req/s"] = round(statistics.median(rounds.values()), 1)
            entry[f"{server} CPU ms/req"] = round(statistics.median(cpu[(name, concurrency, server)]), 2)
            if server != "raw":
                ratios = [rps / raw[r] for r, rps in rounds.items() if raw.get(r)]
                entry[f"{server}/raw"] = round(statistics.median(ratios), 3)
                entry[f"{server}/raw range"] = (round(min(ratios), 3), round(max(ratios), 3))
        summary.append(entry)
    return summary


def report(summary: list[dict[str, Any]]) -> None:
    apps = [k.removesuffix("/raw") for k in summary[0] if k.endswith("/raw")]
    print("\nMedians over the rounds: req/s [server CPU ms per request] (app/raw: median, lowest-highest):")
    for entry in summary:
        parts = [f"raw {entry['raw req/s']:7.1f} [{entry['raw CPU ms/req']:.2f}]"]
        for app in apps:
            low, high = entry[f"{app}/raw range"]
            parts.append(
                f"{app} {entry[f'{app} req/s']:7.1f} [{entry[f'{app} CPU ms/req']:.2f}]"
                f" ({entry[f'{app}/raw']:.2f}, {low:.2f}-{high:.2f})"
            )
        print(f"  {entry['list']:<19} c={entry['concurrency']:<3} " + "  ".join(parts))
    verdicts = [
        e["app-rows/raw"] >= TARGET_RATIO for e in summary if e["concurrency"] == 10 and "app-rows/raw" in e
    ]
    if verdicts:
        kept = "holds" if all(verdicts) else "does NOT hold"
        print(f"pydantic-core over rows >= {TARGET_RATIO} x raw at c=10 on every list: {kept}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds; each runs every server once per cell")
    parser.add_argument("--requests", type=int, default=1000, help="measured requests per run")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests before each run")
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[10, 1],
        help="comma-separated numbers of concurrent connections (default 10,1)",
    )
    parser.add_argument("--before", help="also run the app from this git revision (e.g. main)")
    parser.add_argument("--without-rows", action="store_true", help="leave out app-rows (before/after only)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time limit of one run")
    parser.add_argument("--app-log-level", default="WARNING", help="the apps' LOG_LEVEL")
    parser.add_argument("--summarize", help="only summarise the runs of this earlier output (.json)")
    args = parser.parse_args()
    if args.summarize:
        report(summarize(json.loads(Path(args.summarize).read_text())["runs"]))
        return
    outcome = recorded("list_serialisation", args, benchmark(args))
    report(outcome["summary"])


if __name__ == "__main__":
    main()
