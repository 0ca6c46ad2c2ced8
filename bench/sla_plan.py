"""The plan of "what breaches next" for the busiest tenant of a filled database (run by hand).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/blink_bench_eval .venv/bin/python bench/sla_plan.py

Prints `EXPLAIN (ANALYZE, BUFFERS)` of the key lookup of `GET /api/v1/tickets?sla_due_before=...` as an
employee of that tenant sends it (the statement the list pages on, built by the app's own code),
executed as a prepared statement seven times as asyncpg runs it, twice: with a horizon that 30 of the
tenant's running targets fall before (the usual case: a few tickets breach next), and with one that
most of them fall before (a backlog of breaches). Needs the service-level columns filled, as
`bench/sla.py` fills them.
"""

from __future__ import annotations

import asyncio
import os
import re

import asyncpg
from sqlalchemy import Integer, bindparam, select
from sqlalchemy.dialects import postgresql

from blink_api.tickets import repository, sorting
from blink_api.tickets.filters import LIST_FILTERS
from blink_api.tickets.models import Ticket
from blink_api.tickets.repository import ScopeShape


def key_lookup() -> tuple[str, list[str]]:
    """The list's key lookup for one tenant's employee with `sla_due_before`, newest first, as SQL
    with numbered parameters, and the parameters' names in their order."""
    shape = ScopeShape("tenants", 1)
    keys = (
        select(Ticket.id)
        .where(repository._scope_condition(shape), LIST_FILTERS["sla_due_before"].where(False))
        .order_by(*sorting.order_by(sorting.DEFAULT_SORT))
        .limit(bindparam("limit", type_=Integer()))
    )
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    sql = re.sub(r"%\((\w+)\)s", number, str(keys.compile(dialect=postgresql.dialect())))
    return sql, names


async def main() -> None:
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/blink_bench_eval")
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    tenant = await conn.fetchval(
        "SELECT tenant_id FROM tickets GROUP BY tenant_id ORDER BY count(*) DESC LIMIT 1"
    )
    total = await conn.fetchval("SELECT count(*) FROM tickets WHERE tenant_id = $1", tenant)
    running = await conn.fetchval(
        "SELECT count(*) FROM tickets WHERE tenant_id = $1 AND sla_due_at IS NOT NULL", tenant
    )
    print(f"tenant {tenant}: {total} tickets, {running} with a target neither met nor paused")
    sql, names = key_lookup()
    print(sql)
    for offset in (30, running * 9 // 10):
        horizon = await conn.fetchval(
            "SELECT sla_due_at FROM tickets WHERE tenant_id = $1 AND sla_due_at IS NOT NULL "
            "ORDER BY sla_due_at OFFSET $2 LIMIT 1",
            tenant,
            offset,
        )
        print(f"\n-- sla_due_before = {horizon.isoformat()} ({offset} targets due before it)")
        values = {"scope_tenant_0": tenant, "sla_due_before": horizon, "limit": 51}
        explain = await conn.prepare("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
        for _ in range(7):
            rows = await explain.fetch(*(values[name] for name in names))
        print("\n".join(row[0] for row in rows))
    await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
