"""Benchmark the customer portal: the ticket list and the ticket evaluation of a customer user.

    python bench/portal.py [--requests 1000] [--warmup 100] [--concurrency 1,10] [--rounds 2]
                           [--eval-requests 300] [--eval-warmup 30]

Needs a database filled by bench/fill.py. As the customer user `bench.portal@kunde.example` (50
assigned sites of a 120-site customer, 4 ticket types enabled), it compares the application with the
raw-asyncpg baselines of bench/raw_server.py (`raw`: the page only; `raw-auth`: the page plus the
token check and principal query on every request):

- GET /api/v1/tickets?limit=50, the portal's first page: throughput, p50/p99, at each concurrency;
- GET /api/v1/sites/{site_id}/ticket-evaluation (the user's site with the most closed tickets) and
  GET /api/v1/ticket-evaluation (all 50 sites): latency at concurrency 1, client-side and from the
  app's own access log (`duration_ms`, the server time), plus the SQL execution time of the app's
  evaluation statement and of the raw statement (EXPLAIN ANALYZE and timed executions of the
  prepared statements, the way asyncpg runs them).

Set-up it performs in the bench database (idempotent): the bench customer gets
`ticket_evaluation_enabled = true` and `evaluation_group_days = 7`, without which both
evaluations answer 404. Writes bench/.data/portal-<time>.json and the plans to
bench/.data/portal-plans-<time>.txt. Every request goes to 127.0.0.1; counts and times are bounded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import asyncpg
import raw_server
from benchlib import DATA_DIR, PORTAL_EMAIL, PROJECT_DIR, database_url, run_async
from investigate import explain_prepared
from list_tickets import (
    Server,
    check_same,
    compare,
    login,
    machine,
    make_raw,
    make_servers,
)

TARGET_LIST_RATIO = 0.6  # the portal list should reach this share of the raw endpoint's throughput
TARGET_EVALUATION_MS = 50.0  # evaluation of 50 sites, server time
SQL_TIMINGS = 50  # timed executions of each evaluation statement


async def setup(conn: asyncpg.Connection) -> dict[str, Any]:
    """Enables the evaluation for the bench customer and picks the site to evaluate."""
    user = await conn.fetchrow(
        "SELECT a.id, cu.customer_id FROM accounts a JOIN customer_users cu ON cu.id = a.id "
        "WHERE a.email = $1",
        PORTAL_EMAIL,
    )
    if user is None:
        raise SystemExit(f"No {PORTAL_EMAIL}: run `python bench/fill.py` first.")
    await conn.execute(
        "UPDATE customers SET ticket_evaluation_enabled = true, evaluation_group_days = 7 WHERE id = $1",
        user["customer_id"],
    )
    enabled = "SELECT ticket_type_id FROM customer_ticket_types WHERE customer_id = $2"
    sites = await conn.fetch(
        f"""
        SELECT cus.site_id, count(t.id) AS closed
        FROM customer_user_sites cus JOIN sites s ON s.id = cus.site_id AND s.customer_id = $2
        LEFT JOIN tickets t ON t.site_id = cus.site_id AND t.status = 'closed'
                           AND t.ticket_type_id IN ({enabled})
        WHERE cus.customer_user_id = $1
        GROUP BY cus.site_id ORDER BY closed DESC, cus.site_id
        """,
        user["id"],
        user["customer_id"],
    )
    visible = await conn.fetchval(
        f"SELECT count(*) FROM tickets t WHERE t.site_id IN ({raw_server.CUSTOMER_SITES}) "
        f"AND t.ticket_type_id IN ({enabled})",
        user["id"],
        user["customer_id"],
    )
    return {
        "user_id": user["id"],
        "customer_id": user["customer_id"],
        "sites": len(sites),
        "site_id": sites[0]["site_id"],
        "site_closed_tickets": sites[0]["closed"],
        "closed_tickets_all_sites": sum(r["closed"] for r in sites),
        "visible_tickets": visible,
    }


# --- the app's SQL, rebuilt from src/ to be timed and explained -----------------------------------------


def app_evaluation_sql(info: dict[str, Any], one_site: bool) -> tuple[str, list[Any]]:
    """The evaluation's statement exactly as `evaluations.repository.resolution_buckets` runs it for
    the portal user: one site (`info["site_id"]`) or all of the user's sites."""
    from blink_api.evaluations import repository as evaluations
    from blink_api.tickets.repository import ScopeShape

    statement = evaluations.evaluation_statement(
        evaluations.EvaluationShape(ScopeShape("customer_user"), one_site, False, False)
    )
    params = {"scope_account_id": info["user_id"], "scope_customer_id": info["customer_id"]}
    params |= {"site_id": info["site_id"]} if one_site else {"customer_id": info["customer_id"]}
    return statement.sql, statement.arguments(params)


def app_list_sql(info: dict[str, Any]) -> tuple[str, list[Any]]:
    """The first page's statement exactly as `repository.ticket_page` runs it for the portal user."""
    from blink_api.tickets import repository as tickets

    statement = tickets.ticket_page_statement(tickets.ScopeShape("customer_user"), frozenset(), False)
    params = {"scope_account_id": info["user_id"], "scope_customer_id": info["customer_id"], "limit": 51}
    return statement.sql, statement.arguments(params)


def literal(value: Any) -> str:
    """A parameter as SQL text for EXECUTE (investigate.explain_prepared)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


async def sql_time(conn: asyncpg.Connection, sql: str, params: list[Any]) -> dict[str, Any]:
    """Executions of the prepared statement timed on the client (Unix socket: ~0.05 ms round trip),
    and EXPLAIN ANALYZE of the plan the prepared statement gets after 6 executions."""
    prepared = await conn.prepare(sql)
    for _ in range(6):  # as often as PostgreSQL needs to consider a generic plan
        await prepared.fetch(*params)
    timings = []
    for _ in range(SQL_TIMINGS):
        began = time.perf_counter()
        await prepared.fetch(*params)
        timings.append((time.perf_counter() - began) * 1000)
    plan = await explain_prepared(conn, sql, [literal(p) for p in params])
    execution = next((ln for ln in plan.splitlines() if ln.startswith("Execution Time")), "")
    timings.sort()
    return {
        "executions": SQL_TIMINGS,
        "p50_ms": round(statistics.median(timings), 2),
        "p99_ms": round(timings[min(len(timings) - 1, round(0.99 * len(timings)) - 1)], 2),
        "explain_execution": execution.strip(),
        "plan": plan,
    }


def app_durations(log_path: Path, offset: int, path: str) -> dict[str, Any]:
    """p50/p99 of the app's own `duration_ms` for `path`, from access-log lines written after `offset`."""
    durations = []
    with log_path.open("rb") as log:
        log.seek(offset)
        for raw in log:
            if b'"blink_api.access"' not in raw:
                continue
            entry = json.loads(raw)
            if entry.get("path") == path.split("?")[0] and entry.get("status") == 200:
                durations.append(entry["duration_ms"])
    if not durations:
        return {"requests": 0}
    durations.sort()
    rank = max(0, round(0.99 * len(durations)) - 1)
    return {
        "requests": len(durations),
        "p50_ms": round(statistics.median(durations), 2),
        "p99_ms": round(durations[rank], 2),
    }


# --- the run ----------------------------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace, plans_file: Path) -> dict[str, Any]:
    url = database_url()
    conn = await asyncpg.connect(url)
    try:
        info = await setup(conn)
    finally:
        await conn.close()
    print(
        f"Portal user: {info['sites']} sites, {info['visible_tickets']:,} visible tickets, "
        f"{info['closed_tickets_all_sites']:,} closed tickets of enabled types; evaluated site "
        f"{info['site_id']} ({info['site_closed_tickets']:,} closed)"
    )
    app, _ = make_servers(url, args.app_log_level)
    servers: dict[str, Server] = {
        "app": app,
        "raw": make_raw(url, PORTAL_EMAIL),
        "raw-auth": make_raw(url, PORTAL_EMAIL, authenticate=True),
    }
    for server in servers.values():
        server.start()
    results: dict[str, Any] = {}
    try:
        for server in servers.values():
            await server.wait_ready()
        token = await login(app, PORTAL_EMAIL)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        paths = {
            "list page1": "/api/v1/tickets?limit=50",
            "evaluation 1 site": f"/api/v1/sites/{info['site_id']}/ticket-evaluation",
            "evaluation 50 sites": "/api/v1/ticket-evaluation",
        }
        # Only the requests to be measured are checked (and must match).
        measured = {"list page1": "list", "evaluation 1 site": "eval1", "evaluation 50 sites": "eval50"}
        paths = {name: path for name, path in paths.items() if measured[name] in args.scenarios}
        print("Requests (checked: the baselines answer the app's JSON):")
        for name, path in paths.items():
            print(f"  {name:<20} {path}")
            await check_same(app, [servers["raw"], servers["raw-auth"]], path, token)

        for concurrency in args.concurrency if "list" in args.scenarios else []:
            key = f"list page1 c={concurrency}"
            results[key] = await compare(servers, paths["list page1"], headers, concurrency, args, label=key)

        # The evaluations: single-request latency, one connection, more requests than the warm-up.
        eval_args = argparse.Namespace(**{
            **vars(args), "requests": args.eval_requests, "warmup": args.eval_warmup
        })  # fmt: skip
        chosen = {"evaluation 1 site": "eval1", "evaluation 50 sites": "eval50"}
        for name in [n for n, scenario in chosen.items() if scenario in args.scenarios]:
            offset = app.log_path.stat().st_size
            results[name] = await compare(servers, paths[name], headers, 1, eval_args, label=f"{name} c=1")
            results[name]["app_server_time"] = app_durations(app.log_path, offset, paths[name])
            print(
                f"  {name}: app server time (access log, warm-up included) {results[name]['app_server_time']}"
            )
    finally:
        for server in servers.values():
            server.stop()

    # SQL alone, with the servers stopped so that nothing else competes for the database.
    conn = await asyncpg.connect(url)
    try:
        statements = {
            "app list page1": app_list_sql(info),
            "raw list page1": (
                raw_server.build_sql(
                    raw_server.Principal(info["user_id"], "customer_user", info["customer_id"], (), False),
                    after=False,
                    search=False,
                ),
                [info["user_id"], info["customer_id"], 51],
            ),
            "app evaluation 1 site": app_evaluation_sql(info, one_site=True),
            "raw evaluation 1 site": (
                raw_server.EVALUATION_SQL.format(within_sla="NULL::boolean"),
                [info["user_id"], info["customer_id"], info["site_id"]],
            ),
            "app evaluation 50 sites": app_evaluation_sql(info, one_site=False),
            "raw evaluation 50 sites": (
                raw_server.EVALUATION_SQL.format(within_sla="NULL::boolean"),
                [info["user_id"], info["customer_id"], None],
            ),
        }
        sql: dict[str, Any] = {}
        with plans_file.open("w") as out:
            for name, (text, params) in statements.items():
                sql[name] = await sql_time(conn, text, params)
                print(
                    f"  SQL {name:<24} p50 {sql[name]['p50_ms']:6.2f} ms  p99 {sql[name]['p99_ms']:6.2f} ms"
                    f"  ({sql[name]['explain_execution']})"
                )
                out.write(f"=== {name}\n{text}\n-- params: {params}\n\n{sql[name]['plan']}\n\n")
    finally:
        await conn.close()
    return {"setup": {k: str(v) for k, v in info.items()}, "paths": paths, "results": results, "sql": sql}


def summarize(outcome: dict[str, Any]) -> None:
    results = outcome["results"]
    print("\nSummary (all rounds); raw = page only, raw-auth = page + token check + principal query:")
    for key, r in results.items():
        app_time = r.get("app_server_time", {})
        print(
            f"  {key:<22} req/s app {r['app']['rps']:7.1f}  raw {r['raw']['rps']:7.1f}  "
            f"raw-auth {r['raw-auth']['rps']:7.1f} | p50/p99 ms app {r['app']['p50_ms']:.2f}/"
            f"{r['app']['p99_ms']:.2f}  raw {r['raw']['p50_ms']:.2f}/{r['raw']['p99_ms']:.2f}  "
            f"raw-auth {r['raw-auth']['p50_ms']:.2f}/{r['raw-auth']['p99_ms']:.2f} | app/raw "
            f"{r['ratio_app_raw']:.2f}  app/raw-auth {r['ratio_app_raw-auth']:.2f} | median of the rounds: "
            f"req/s app {r['app']['rps_median']}  raw {r['raw']['rps_median']}, app/raw per round "
            f"{r['ratio_app_raw_median']}"
            + (f" | app server time p50/p99 {app_time['p50_ms']}/{app_time['p99_ms']} ms" if app_time else "")
        )
    for key, r in results.items():
        if key.startswith("list"):
            ratio = r["ratio_app_raw"]
            verdict = "met" if ratio >= TARGET_LIST_RATIO else "NOT met"
            print(f"Target list >= {TARGET_LIST_RATIO} x raw ({key}): {ratio:.2f} -> {verdict}")
    fifty = results.get("evaluation 50 sites")
    if fifty:
        p50 = fifty["app_server_time"].get("p50_ms", fifty["app"]["p50_ms"])
        verdict = "met" if p50 < TARGET_EVALUATION_MS else "NOT met"
        print(
            f"Target evaluation of 50 sites < {TARGET_EVALUATION_MS:.0f} ms server time: "
            f"p50 {p50} ms -> {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="measured list requests per run")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured list requests before each run")
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 10],
        help="comma-separated numbers of concurrent connections for the list (default 1,10)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="runs per server, rotating who goes first")
    parser.add_argument("--eval-requests", type=int, default=300, help="measured evaluation requests per run")
    parser.add_argument("--eval-warmup", type=int, default=30, help="unmeasured evaluation requests per run")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time limit of one run")
    parser.add_argument(
        "--scenarios",
        type=lambda s: s.split(","),
        default=["list", "eval1", "eval50"],
        help="comma-separated: list (page 1), eval1 (evaluation of one site), eval50 (of all 50 sites)",
    )
    parser.add_argument("--app-log-level", default="INFO", help="the app's LOG_LEVEL (INFO: access log)")
    args = parser.parse_args()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    stamp = f"{dt.datetime.now():%Y%m%d-%H%M%S}"
    info = {"started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **machine(), "args": vars(args)}
    print(
        f"{info['started']}  {info['nproc']} CPUs, Python {info['python']}, "
        f"load average {info['loadavg_before']}"
    )
    plans = DATA_DIR / f"portal-plans-{stamp}.txt"
    outcome = run_async(benchmark(args, plans))
    info["loadavg_after"] = os.getloadavg()
    info.update(outcome)
    out = DATA_DIR / f"portal-{stamp}.json"
    out.write_text(json.dumps(info, indent=2, default=str))
    print(f"load average after: {info['loadavg_after']}\nwrote {out.relative_to(PROJECT_DIR)}, {plans.name}")
    summarize(outcome)


if __name__ == "__main__":
    main()
