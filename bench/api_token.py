"""Benchmark an API token against a password log-in's access token on GET /api/v1/tickets.

    python bench/api_token.py [--requests 1000] [--warmup 100] [--concurrency 1,10] [--rounds 5]
                              [--scenarios list,me] [--max-seconds 60]

Needs a database filled by bench/fill.py (DATABASE_URL, or the embedded one under bench/.data), migrated
to a head that has API tokens. Starts the real application as bench/list_tickets.py does (`blink-api
serve`, one uvicorn worker on a free port of 127.0.0.1, BLINK_EMBEDDED_WORKER=false), logs in as the
bench employee with the password (a signed access token), creates an API token of the same employee
with the scope `tickets:read` (`POST /api/v1/api-tokens`), and checks that both credentials get the same
bytes. Then, per request and concurrency, `--rounds` rounds; each round runs `--warmup` unmeasured and
`--requests` measured requests with each credential, on the closed-loop load generator of
bench/loadgen.py, the credential going first alternating from round to round. Reported per
credential: the median over the rounds of requests/s, p50 and p95 latency over all measured
requests of all rounds, the app's CPU per request; and the ratio token/password, both of the medians
and per round (the two runs of a round see the same background load). The API token is deleted at
the end. Writes bench/.data/api_token-<time>.json. Every request goes to 127.0.0.1; the number of
requests and the time per run are bounded.

Requests:
  list  GET /api/v1/tickets?limit=50   the employee's first page, what an integration reads
  me    GET /api/v1/me                 the cheapest authenticated request: authentication is most of it
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import httpx
import loadgen
from benchlib import DATA_DIR, database_url
from list_tickets import HOST, Server, database_facts, fetch, login, make_servers, postmaster_pids, recorded

SCENARIOS = {"list": "/api/v1/tickets?limit=50", "me": "/api/v1/me"}
CREDENTIALS = ("password", "api_token")


async def create_api_token(app: Server, access_token: str) -> tuple[str, str]:
    """An API token of the logged-in account holding `tickets:read`: (its id, its secret)."""
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{app.port}", timeout=30) as client:
        r = await client.post(
            "/api/v1/api-tokens",
            headers={"Authorization": f"Bearer {access_token}"},
            json={"name": "bench: api_token.py", "scopes": ["tickets:read"]},
        )
        if r.status_code != 201:
            raise RuntimeError(f"creating the API token: {r.status_code} {r.text[:500]}")
        return r.json()["id"], r.json()["token"]


async def delete_api_token(app: Server, access_token: str, token_id: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{app.port}", timeout=30) as client:
        r = await client.delete(
            f"/api/v1/api-tokens/{token_id}", headers={"Authorization": f"Bearer {access_token}"}
        )
        print(f"API token deleted: {r.status_code}")


def summary(results: list[loadgen.Result], pids: dict[str, list[int]]) -> dict[str, Any]:
    merged = loadgen.merge(results)
    rps = [r.rps for r in results]
    return {
        "rounds_rps": [round(x, 1) for x in rps],
        "median_rps": round(statistics.median(rps), 1),
        # How far this credential's own rounds lie apart: the noise the ratio is to be read against.
        "spread_rps": round((max(rps) - min(rps)) / statistics.median(rps), 3) if len(rps) > 1 else 0.0,
        "p50_ms": round(merged.percentile(50), 2),
        "p95_ms": round(merged.percentile(95), 2),
        "p99_ms": round(merged.percentile(99), 2),
        "requests": merged.requests,
        "errors": merged.errors,
        **{
            f"cpu_ms_per_request_{party}": round(seconds * 1000 / max(merged.requests, 1), 3)
            for party, seconds in merged.cpu.items()
            if party in pids or party == "client"
        },
    }


async def compare(
    app: Server, path: str, headers: dict[str, dict[str, str]], concurrency: int, args: argparse.Namespace
) -> dict[str, Any]:
    pg = postmaster_pids()
    watch = {"server": [app.pid], **({"postgres": pg} if pg else {})}
    common = {"concurrency": concurrency, "max_seconds": args.max_seconds, "watch": watch}
    runs: dict[str, list[loadgen.Result]] = {name: [] for name in CREDENTIALS}
    for round_no in range(args.rounds):
        order = CREDENTIALS if round_no % 2 == 0 else CREDENTIALS[::-1]
        for name in order:
            await loadgen.run(HOST, app.port, path, headers[name], requests=args.warmup, **common)
            result = await loadgen.run(HOST, app.port, path, headers[name], requests=args.requests, **common)
            runs[name].append(result)
            print(
                f"  c={concurrency} round {round_no + 1} {name:<9} {result.rps:8.1f} req/s"
                f"  p50 {result.percentile(50):6.2f} ms  p95 {result.percentile(95):6.2f} ms"
                f"  errors {result.errors}",
                flush=True,
            )
    out: dict[str, Any] = {name: summary(rs, watch) for name, rs in runs.items()}
    per_round = [t.rps / p.rps for p, t in zip(runs["password"], runs["api_token"], strict=True) if p.rps]
    out["ratio_of_medians"] = round(out["api_token"]["median_rps"] / out["password"]["median_rps"], 3)
    out["ratio_per_round"] = [round(x, 3) for x in per_round]
    out["ratio_per_round_median"] = round(statistics.median(per_round), 3)
    return out


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    url = database_url()
    await database_facts(url)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    app, _ = make_servers(url, args.app_log_level)
    app.start()
    try:
        await app.wait_ready()
        access_token = await login(app)
        token_id, api_token = await create_api_token(app, access_token)
        try:
            headers = {
                "password": {"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                "api_token": {"Authorization": f"Bearer {api_token}", "Accept": "application/json"},
            }
            results: dict[str, Any] = {}
            for scenario in args.scenarios:
                path = SCENARIOS[scenario]
                by_password = await fetch(app, path, access_token)
                by_token = await fetch(app, path, api_token)
                if by_password != by_token:
                    raise RuntimeError(f"{path}: the API token's answer differs from the password log-in's")
                print(f"{scenario}: {path}, {len(by_password):,} bytes, the same bytes for both credentials")
                for concurrency in args.concurrency:
                    key = f"{scenario} c={concurrency}"
                    results[key] = await compare(app, path, headers, concurrency, args)
            return {"paths": {s: SCENARIOS[s] for s in args.scenarios}, "results": results}
        finally:
            await delete_api_token(app, access_token, token_id)
    finally:
        app.stop()


def print_summary(results: dict[str, Any]) -> None:
    print("\nSummary: median req/s over the rounds, p50/p95 over all measured requests, app CPU per request")
    print(
        f"  {'request':<10} {'credential':<10} {'req/s':>8} {'spread':>7} {'p50 ms':>7} {'p95 ms':>7}"
        f" {'CPU ms':>7}   token/password"
    )
    for key, r in results.items():
        for name in CREDENTIALS:
            d = r[name]
            ratio = (
                f"{r['ratio_of_medians']:.3f} (per round: median {r['ratio_per_round_median']:.3f},"
                f" {min(r['ratio_per_round']):.3f}-{max(r['ratio_per_round']):.3f})"
                if name == "api_token"
                else ""
            )
            print(
                f"  {key:<10} {name:<10} {d['median_rps']:8.1f} {d['spread_rps']:7.1%} {d['p50_ms']:7.2f}"
                f" {d['p95_ms']:7.2f} {d.get('cpu_ms_per_request_server', float('nan')):7.2f}   {ratio}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="measured requests per run")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests before each run")
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 10],
        help="comma-separated numbers of concurrent connections (default 1,10)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="runs per credential, alternating")
    parser.add_argument(
        "--scenarios",
        type=lambda s: s.split(","),
        default=list(SCENARIOS),
        help=f"comma-separated subset of {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time limit of one run")
    parser.add_argument("--app-log-level", default="INFO", help="the app's LOG_LEVEL (as list_tickets.py)")
    args = parser.parse_args()
    outcome = recorded("api_token", args, benchmark(args))
    print_summary(outcome["results"])


if __name__ == "__main__":
    main()
