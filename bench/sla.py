"""Service levels at 1,000,000 tickets: the breached list, the evaluation with `within_sla`, the breach scan.

    python bench/sla.py [--open 100000] [--due-now 1000] [--rounds 5] [--requests 300] [--warmup 30]
                        [--scan-rounds 5] [--reapply] [--max-seconds 60]

Needs a database filled by bench/fill.py (1,000,000 tickets); it is migrated to head first (service
levels add columns to `tickets`). Set-up it performs in the bench database (idempotent; `--reapply`
does it again):

- Every tenant gets one policy, `bench default` (first response 240 minutes, resolution 2,880), and
  every ticket gets that policy and due times. The due times are wall-clock (`created_at` + 4 h and +
  48 h), not business time: computing a business calendar for 1,000,000 tickets in Python would take
  longer than the fill, and what is measured here reads the stored columns only, whatever their values.
  Closed tickets: first response met 0 to 6 hours after creation, resolution met at `closed_at`, a
  breach recorded at the due time where the target was met late (so `within_sla` counts some, not all).
- `--open` tickets are open with running targets (the newest closed ones are reopened when the fill
  has fewer): first response met for most, resolution due in the future; where a due time has
  passed, its breach is recorded as the worker would have, except for `--due-now` tickets whose
  resolution is due and unrecorded: what one breach round finds.

Then, with `blink-api serve` and `raw_server.py` (the bench customer user, `within_sla` included when
the column exists) side by side, in `--rounds` rounds rotating the order, `--warmup` + `--requests`
requests at concurrency 1 each:

- `GET /api/v1/tickets?limit=50` (the bench employee's page 1: today's list) and
  `GET /api/v1/tickets?limit=50&sla_state=breached` (the same employee): the ratio of their req/s per
  round; the target is that the breached list stays within 1.5 x of the list (ratio >= 0.67);
- `GET /api/v1/ticket-evaluation` (50 sites) and `GET /api/v1/sites/{site_id}/ticket-evaluation`, app
  against raw: app/raw per round, to compare with the evaluation's ratio without service levels in
  RESULTS.md (measured the same way by portal.py);
- the breach scan, in-process with the app's own `sla_worker.record_breaches`: `--scan-rounds` rounds,
  each in one transaction that is rolled back (so every round finds the same tickets): batches of
  200 until a batch comes back short, and an idle round after the due tickets are cleared from the
  scan in a rolled-back transaction. Database time = the summed time of the round's statements as the
  client sees them (SQLAlchemy's cursor events; the round trips over 127.0.0.1 included), plus
  `EXPLAIN (ANALYZE, BUFFERS)` of the claim statement. Target: under 1 s per round.

Writes bench/.data/sla-<time>.json. Nothing here runs in the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from typing import Any

import asyncpg
import loadgen
from benchlib import (
    DATA_DIR,
    EMPLOYEE_EMAIL,
    PORTAL_EMAIL,
    PROJECT_DIR,
    database_url,
    run_async,
    sqlalchemy_url,
)
from fill import migrate
from list_tickets import HOST, Server, check_same, describe, line, login, machine, make_raw, make_servers
from portal import setup as portal_setup

POLICY = "bench default"
FIRST_RESPONSE = dt.timedelta(hours=4)
RESOLUTION = dt.timedelta(hours=48)
TARGET_LIST_FACTOR = 1.5
TARGET_SCAN_SECONDS = 1.0


async def has_service_levels(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'tickets' "
            "AND column_name = 'sla_resolution_met_at'"
        )
    )


async def apply_policies(conn: asyncpg.Connection, open_tickets: int, due_now: int) -> dict[str, Any]:
    """The set-up described in the module's docstring; skipped when already done (`--reapply` forces)."""
    began = time.perf_counter()
    await conn.execute("SET synchronous_commit = off")
    async with conn.transaction():
        await conn.execute("DELETE FROM sla_policies WHERE name = $1", POLICY)
        await conn.execute(
            "INSERT INTO sla_policies (id, tenant_id, name, first_response_minutes, resolution_minutes) "
            "SELECT gen_random_uuid(), t.id, $1, $2, $3 FROM tenants t",
            POLICY,
            int(FIRST_RESPONSE.total_seconds() // 60),
            int(RESOLUTION.total_seconds() // 60),
        )
        opened = await conn.fetchval("SELECT count(*) FROM tickets WHERE status <> 'closed'")
        if opened < open_tickets:  # reopen the newest closed tickets
            await conn.execute(
                "UPDATE tickets SET status = 'open', closed_at = NULL WHERE id IN ("
                "SELECT id FROM tickets WHERE status = 'closed' ORDER BY created_at DESC LIMIT $1)",
                open_tickets - opened,
            )
        # Every ticket in one pass (each pass rewrites 1,000,000 rows and their indexes): the policy,
        # its due times, the first response met 0-6 h after creation for closed tickets and 80 % of
        # open ones (a hash of the id: the same on every run), resolution met at closing, and the
        # breaches the worker would have recorded (a target met late, or unmet and past due).
        await conn.execute(
            """
            UPDATE tickets t SET
                sla_policy_id = v.policy_id,
                sla_first_response_due_at = v.first_due,
                sla_first_response_met_at = v.first_met,
                sla_resolution_due_at = v.resolution_due,
                sla_resolution_met_at = t.closed_at,
                sla_resolution_anchor_at = t.created_at,
                sla_first_response_breached_at = CASE WHEN coalesce(v.first_met, now()) > v.first_due
                    THEN v.first_due END,
                sla_resolution_breached_at = CASE WHEN coalesce(t.closed_at, now()) > v.resolution_due
                    THEN v.resolution_due END,
                sla_resolution_paused_at = NULL
            FROM (
                SELECT x.id, p.id AS policy_id,
                       x.created_at + $1::interval AS first_due,
                       CASE WHEN x.status = 'closed' OR abs(hashtext(x.id::text)) % 10 < 8
                            THEN x.created_at + (abs(hashtext(x.id::text)) % 360) * interval '1 minute'
                       END AS first_met,
                       CASE WHEN x.status = 'closed' THEN x.created_at + $2::interval
                            ELSE greatest(x.created_at + $2::interval, now() + interval '1 day')
                       END AS resolution_due
                FROM tickets x JOIN sla_policies p ON p.tenant_id = x.tenant_id AND p.name = $3
            ) v
            WHERE v.id = t.id
            """,
            FIRST_RESPONSE,
            RESOLUTION,
            POLICY,
        )
        # What the next breach round finds: open tickets whose resolution is due and unrecorded.
        await conn.execute(
            "UPDATE tickets SET sla_resolution_due_at = now() - interval '1 minute', "
            "sla_resolution_breached_at = NULL WHERE id IN (SELECT id FROM tickets "
            "WHERE status <> 'closed' ORDER BY id LIMIT $1)",
            due_now,
        )
    await conn.execute("VACUUM ANALYZE tickets")
    return {"seconds": round(time.perf_counter() - began, 1)}


async def facts(conn: asyncpg.Connection) -> dict[str, Any]:
    row = await conn.fetchrow(
        """
        SELECT count(*) AS tickets,
               count(*) FILTER (WHERE status <> 'closed') AS open,
               count(*) FILTER (WHERE status <> 'closed' AND sla_breach_due_at IS NOT NULL) AS open_running,
               count(*) FILTER (WHERE sla_breach_due_at <= now()) AS due_unrecorded,
               count(*) FILTER (WHERE sla_first_response_breached_at IS NOT NULL
                                   OR sla_resolution_breached_at IS NOT NULL) AS breached,
               count(*) FILTER (WHERE status = 'closed'
                                   AND sla_resolution_met_at <= sla_resolution_due_at) AS within_sla
        FROM tickets
        """
    )
    return dict(row)


# --- HTTP -------------------------------------------------------------------------------------------


async def alternate(
    runs: dict[str, tuple[Server, str, dict[str, str]]], args: argparse.Namespace
) -> dict[str, Any]:
    """`args.rounds` rounds over every (server, path, headers) of `runs`, the order rotating."""
    names = list(runs)
    results: dict[str, list[loadgen.Result]] = {name: [] for name in names}
    for round_no in range(args.rounds):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            server, path, headers = runs[name]
            common = {"concurrency": 1, "max_seconds": args.max_seconds, "watch": {"server": [server.pid]}}
            await loadgen.run(HOST, server.port, path, headers, requests=args.warmup, **common)
            result = await loadgen.run(HOST, server.port, path, headers, requests=args.requests, **common)
            results[name].append(result)
            print(line(f"{name} #{round_no + 1}", describe(result)), flush=True)
    return {
        name: {
            **describe(loadgen.merge(rs)),
            "rps_rounds": [round(r.rps, 1) for r in rs],
            "rps_median": round(statistics.median(r.rps for r in rs), 1),
        }
        for name, rs in results.items()
    } | {"_results": results}


def ratio(results: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    per_round = [
        round(x.rps / y.rps, 3) for x, y in zip(results["_results"][a], results["_results"][b], strict=True)
    ]
    return {"per_round": per_round, "median": round(statistics.median(per_round), 3)}


# --- the breach scan --------------------------------------------------------------------------------


async def breach_scan(url: str, rounds: int) -> dict[str, Any]:
    from sqlalchemy import event, text
    from sqlalchemy.ext.asyncio import create_async_engine

    from blink_api.kit.config import Settings
    from blink_api.tickets import sla_worker

    settings = Settings(_env_file=None)
    engine = create_async_engine(sqlalchemy_url(url), pool_size=1, max_overflow=0)
    spent: list[float] = []
    started: list[float] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before(*_: Any) -> None:
        started.append(time.perf_counter())

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _after(*_: Any) -> None:
        spent.append(time.perf_counter() - started.pop())

    from sqlalchemy.ext.asyncio import async_sessionmaker

    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def one_round(idle: bool) -> dict[str, Any]:
        async with sessions() as session:
            await session.begin()
            if idle:  # nothing due: what every round costs most of the time
                await session.execute(
                    text(
                        "UPDATE tickets SET sla_resolution_breached_at = now() "
                        "WHERE sla_breach_due_at <= now()"
                    )
                )
            spent.clear()
            began = time.perf_counter()
            handled = batches = 0
            while True:
                found = await sla_worker.record_breaches(session, settings)
                handled, batches = handled + found, batches + 1
                if found < sla_worker.BREACH_BATCH:
                    break
            wall = time.perf_counter() - began
            statements, db = len(spent), sum(spent)
            await session.rollback()
        return {
            "handled": handled,
            "batches": batches,
            "statements": statements,
            "db_seconds": round(db, 3),
            "wall_seconds": round(wall, 3),
        }

    out: dict[str, Any] = {"busy": [], "idle": []}
    try:
        for n in range(rounds):
            for kind in ("busy", "idle"):
                r = await one_round(kind == "idle")
                out[kind].append(r)
                print(f"  breach round {kind} #{n + 1}: {r}", flush=True)
        async with engine.connect() as conn:
            plan = await conn.execute(
                text("EXPLAIN (ANALYZE, BUFFERS) " + str(sla_worker._CLAIM_BREACHES.text)), {"limit": 200}
            )
            out["claim_plan"] = "\n".join(row[0] for row in plan)
            await conn.rollback()
    finally:
        await engine.dispose()
    for kind in ("busy", "idle"):
        out[f"{kind}_db_seconds_median"] = statistics.median(r["db_seconds"] for r in out[kind])
    return out


# --- the run ----------------------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    url = database_url()
    conn = await asyncpg.connect(url)
    try:
        if not await has_service_levels(conn):
            raise SystemExit("No service-level columns after migrating: this checkout has no service levels.")
        applied = await conn.fetchval("SELECT count(*) FROM sla_policies WHERE name = $1", POLICY)
        setup = await apply_policies(conn, args.open, args.due_now) if args.reapply or not applied else {}
        data = await facts(conn)
        portal = await portal_setup(conn)
    finally:
        await conn.close()
    print(f"Set-up {setup or '(already applied)'}; tickets: {data}", flush=True)

    app, _ = make_servers(url, args.app_log_level)
    raw = make_raw(url, PORTAL_EMAIL)
    for server in (app, raw):
        server.start()
    try:
        for server in (app, raw):
            await server.wait_ready()
        employee = {
            "Authorization": f"Bearer {await login(app, EMPLOYEE_EMAIL)}",
            "Accept": "application/json",
        }
        portal_token = await login(app, PORTAL_EMAIL)
        customer = {"Authorization": f"Bearer {portal_token}", "Accept": "application/json"}
        one_site = f"/api/v1/sites/{portal['site_id']}/ticket-evaluation"
        for path in ("/api/v1/ticket-evaluation", one_site):
            await check_same(app, [raw], path, portal_token)
        http = await alternate(
            {
                "list": (app, "/api/v1/tickets?limit=50", employee),
                "list breached": (app, "/api/v1/tickets?limit=50&sla_state=breached", employee),
                "evaluation 50 sites app": (app, "/api/v1/ticket-evaluation", customer),
                "evaluation 50 sites raw": (raw, "/api/v1/ticket-evaluation", customer),
                "evaluation 1 site app": (app, one_site, customer),
                "evaluation 1 site raw": (raw, one_site, customer),
            },
            args,
        )
    finally:
        for server in (app, raw):
            server.stop()
    ratios = {
        "breached/list": ratio(http, "list breached", "list"),
        "evaluation 50 sites app/raw": ratio(http, "evaluation 50 sites app", "evaluation 50 sites raw"),
        "evaluation 1 site app/raw": ratio(http, "evaluation 1 site app", "evaluation 1 site raw"),
    }
    del http["_results"]
    scan = await breach_scan(url, args.scan_rounds)
    return {"setup": setup, "data": data, "http": http, "ratios": ratios, "scan": scan}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=100_000, help="open tickets with running targets")
    parser.add_argument("--due-now", type=int, default=1_000, help="of them, due and unrecorded")
    parser.add_argument("--rounds", type=int, default=5, help="HTTP rounds, the order rotating")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per run")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured requests before each run")
    parser.add_argument("--scan-rounds", type=int, default=5, help="breach-scan rounds (busy and idle)")
    parser.add_argument("--reapply", action="store_true", help="apply the policies again")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time limit of one run")
    parser.add_argument("--app-log-level", default="INFO")
    args = parser.parse_args()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    info = {"started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **machine(), "args": vars(args)}
    print(f"{info['started']}  {info['nproc']} CPUs, load average {info['loadavg_before']}", flush=True)
    migrate(database_url())  # Alembic runs its own event loop: before ours
    outcome = run_async(benchmark(args))
    info["loadavg_after"] = os.getloadavg()
    info.update(outcome)
    out = DATA_DIR / f"sla-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(info, indent=2, default=str))
    print(f"\nload average after: {info['loadavg_after']}; wrote {out.relative_to(PROJECT_DIR)}")
    for name, r in outcome["ratios"].items():
        print(f"  {name}: median of the rounds {r['median']}  per round {r['per_round']}")
    breached = outcome["ratios"]["breached/list"]["median"]
    print(
        f"Target breached list within {TARGET_LIST_FACTOR} x of the list: ratio {breached} -> "
        f"{'met' if breached >= 1 / TARGET_LIST_FACTOR else 'NOT met'}"
    )
    busy = outcome["scan"]["busy_db_seconds_median"]
    print(
        f"Target breach round under {TARGET_SCAN_SECONDS} s of database time: {busy} s -> "
        f"{'met' if busy < TARGET_SCAN_SECONDS else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
