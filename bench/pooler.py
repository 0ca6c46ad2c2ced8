"""What running behind PgBouncer in transaction mode costs: GET /api/v1/tickets, direct against pooled.

    python bench/pooler.py [--requests 2000] [--warmup 200] [--concurrency 1,10] [--rounds 2]

Needs a database filled by bench/fill.py (DATABASE_URL, or the embedded one under bench/.data), and
PgBouncer (`.ci/pgbouncer` installs Debian's package when it is missing, and starts it here on a free
port of 127.0.0.1, in transaction pooling mode, in front of the bench database's server).

Starts two `blink-api serve` processes on 127.0.0.1, one worker each:
  direct   DATABASE_URL to PostgreSQL itself
  pooled   DATABASE_URL to PgBouncer, BLINK_DB_TRANSACTION_POOLER=true
checks that both answer the same bytes, then drives both alike with bench/loadgen.py (closed loop,
rounds alternating who goes first) on the first page, the second page and a full-text search, as the
bench employee. Prints req/s, p50/p99 and the ratio pooled/direct; writes bench/.data/pooler-<time>.json.
Every request goes to 127.0.0.1; the number of requests and the time per run are bounded.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchlib import DATA_DIR, PROJECT_DIR, database_url, sqlalchemy_url
from list_tickets import HOST, Server, free_port, make_servers, recorded, run_scenarios
from sqlalchemy.engine import make_url


def start_pgbouncer(url: str) -> tuple[Path, int]:
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "127.0.0.1"
    if isinstance(host, tuple):
        host = host[0]
    port = free_port()
    env = {**os.environ, "PGHOST": str(host), "PGPORT": str(parsed.port or 5432), "PGBOUNCER_PORT": str(port)}
    out = subprocess.run(
        [str(PROJECT_DIR / ".ci" / "pgbouncer")], env=env, check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip()), port


def stop_pgbouncer(directory: Path) -> None:
    pid_file = directory / "pgbouncer.pid"
    if pid_file.exists():
        subprocess.run(["kill", pid_file.read_text().strip()], check=False)


def pooled_server(direct: Server, url: str, bouncer_port: int) -> Server:
    pooled_url = make_url(sqlalchemy_url(url)).set(host=HOST, port=bouncer_port, query={})
    port = free_port()
    command = [part if part != str(direct.port) else str(port) for part in direct.command]
    return Server(
        "pooled",
        command,
        {
            **direct.env,
            "DATABASE_URL": pooled_url.render_as_string(hide_password=False),
            "BLINK_DB_TRANSACTION_POOLER": "true",
        },
        direct.ready_path,
        port,
        DATA_DIR / "pooled.log",
    )


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    url = database_url()
    bouncer_dir, bouncer_port = start_pgbouncer(url)
    direct, _ = make_servers(url, args.app_log_level)
    pooled = pooled_server(direct, url, bouncer_port)
    servers = {"app": direct, "pooled": pooled}
    for server in servers.values():
        server.start()
    try:
        return await run_scenarios(servers, args, "the pooled server answers the direct one's JSON")
    finally:
        for server in servers.values():
            server.stop()
        stop_pgbouncer(bouncer_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per run")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests before each run")
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10])
    parser.add_argument("--scenarios", type=lambda s: s.split(","), default=["page1", "page2", "search"])
    parser.add_argument("--rounds", type=int, default=2, help="runs per server, alternating")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time limit of one run")
    parser.add_argument("--q", default="Wasserschaden Keller", help="the full-text search")
    parser.add_argument("--app-log-level", default="INFO")
    args = parser.parse_args()
    outcome = recorded("pooler", args, benchmark(args))
    print("\nSummary (all rounds):")
    for key, r in outcome["results"].items():
        direct, pooled = r["app"], r["pooled"]
        ratio = pooled["rps"] / direct["rps"] if direct["rps"] else float("nan")
        print(
            f"  {key:<12} direct {direct['rps']:8.1f} req/s p99 {direct['p99_ms']:6.2f} ms   "
            f"pooled {pooled['rps']:8.1f} req/s p99 {pooled['p99_ms']:6.2f} ms   pooled/direct {ratio:.2f}"
        )


if __name__ == "__main__":
    sys.exit(main())
