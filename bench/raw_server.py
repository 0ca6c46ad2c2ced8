"""The baselines: the application's pages served with nothing but asyncpg and a raw ASGI app.

    python bench/raw_server.py --port 8001 --email ... [--authenticate]     (DATABASE_URL must be set)

It answers the same pages as the application for one account, byte for byte:

- GET /api/v1/tickets: the same visibility condition as `ticket_scope` (an employee: `tenant_id IN
  (...)` with the employee's tenants; a customer user: a site assigned to the user and of the user's
  own customer, and a ticket type enabled for that customer), the same keyset order and cursor, the
  same optional full-text filter (internal notes searchable by employees only), the creator's kind
  and name and the rating joined in, and the same JSON.
- GET /api/v1/sites/{site_id}/ticket-evaluation and GET /api/v1/ticket-evaluation (customer users):
  the closed tickets of the customer's enabled types on the site or on all the user's sites, bucketed
  by resolution days, with the satisfaction of the rated ones, in one statement; 404 where the app
  answers 404 (site not visible, evaluation not enabled). The `closed_from`/`closed_to` filters are
  not implemented.

Two modes:

- default: the account is looked up once at start-up (by `--email`); requests carry no token and
  nothing is checked. Only the page itself is served: the first baseline.
- `--authenticate`: every request also does what serving "this account's page" needs, the way the
  application does it: read the bearer token, verify the JWT exactly as `Tokens.read` does (PyJWT,
  HS256, audience `blink-api`, `sub`/`exp`/`ver` required) with the app's signing key
  (`BLINK_SECRET_KEY`, else `app_secrets.token_signing_key`), load the principal in one query (the
  columns of the app's principal statement, `identity.repository._principal_statement`), reject
  inactive accounts and stale token versions with 401, and use that principal's tenants / customer
  for the page. `--email` is then ignored for the page.

What both leave out is everything else the application does (ORM, validation, middleware, logging),
which is the point of the comparison. Served by uvicorn with the same options as `blink-api serve`,
one worker.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import json
import os
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import jwt
import uvicorn

COLUMNS = """
    t.id, t.number, t.tenant_id, t.site_id, t.ticket_type_id, t.title, t.description, t.status,
    t.assignee_id, t.due_date, a.kind AS creator_kind, a.id AS creator_id, a.name AS creator_name,
    t.created_at, t.updated_at, t.closed_at,
    r.ticket_id AS rated_ticket, r.score AS rating_score, r.comment AS rating_comment,
    r.created_at AS rated_at
"""

# The same columns as the app's principal statement (`identity.repository._principal_statement`),
# so the database does the same work per request.
PRINCIPAL_SQL = """
    SELECT a.id, a.kind, a.is_active, a.token_version,
           coalesce(e.is_admin, false) AS is_admin, cu.customer_id, a.email, a.name,
           array(SELECT et.tenant_id FROM employee_tenants et WHERE et.employee_id = a.id) AS tenant_ids,
           array(SELECT DISTINCT p FROM employee_permission_groups epg
                   JOIN permission_groups pg ON pg.id = epg.permission_group_id,
                   unnest(pg.permissions) AS p
                 WHERE epg.employee_id = a.id) AS permissions
    FROM accounts a
    LEFT JOIN employees e ON e.id = a.id
    LEFT JOIN customer_users cu ON cu.id = a.id
    WHERE {where}
"""

# A customer user's visible sites: assigned to the user and belonging to the user's own customer
# ($1 = user, $2 = customer), as in `ticket_scope` and `visible_sites`.
CUSTOMER_SITES = """
    SELECT cus.site_id FROM customer_user_sites cus JOIN sites s ON s.id = cus.site_id
    WHERE cus.customer_user_id = $1 AND s.customer_id = $2
"""
ENABLED_TYPES = "SELECT ctt.ticket_type_id FROM customer_ticket_types ctt WHERE ctt.customer_id = $2"

# The evaluation in one statement: visible sites (optionally one), the customer's switch and bucket
# width, and the closed tickets of enabled types on those sites ($3 = one site id or NULL for all),
# with their ratings for the satisfaction (count and average to 2 decimals over the rated ones).
# The resolution days are the app's `greatest(0, floor(epoch(closed_at - created_at) / 86400))::int`.
EVALUATION_SQL = f"""
    WITH scope AS (
        SELECT site_id FROM ({CUSTOMER_SITES}) v WHERE $3::uuid IS NULL OR v.site_id = $3::uuid
    ), resolved AS (
        SELECT greatest(0, floor(extract(epoch FROM t.closed_at - t.created_at) / 86400))::int AS days,
               r.score, {{within_sla}} AS within_sla
        FROM tickets t LEFT JOIN ticket_ratings r ON r.ticket_id = t.id
        WHERE t.site_id IN (SELECT site_id FROM scope) AND t.status = 'closed'
          AND t.ticket_type_id IN ({ENABLED_TYPES})
    ), customer AS (
        SELECT c.evaluation_group_days AS g FROM customers c WHERE c.id = $2 AND c.ticket_evaluation_enabled
    ), buckets AS (
        SELECT r.days / (SELECT g FROM customer) AS bucket, count(*) AS n FROM resolved r GROUP BY 1
    )
    SELECT (SELECT g FROM customer) AS group_days,
           (SELECT count(*) FROM scope) AS sites,
           (SELECT count(*) FROM resolved) AS total,
           (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY days) FROM resolved) AS median,
           (SELECT array_agg(bucket ORDER BY bucket) FROM buckets) AS bucket_index,
           (SELECT array_agg(n ORDER BY bucket) FROM buckets) AS bucket_count,
           (SELECT count(score) FROM resolved) AS rated,
           (SELECT round(avg(score)::numeric, 2) FROM resolved) AS average,
           (SELECT count(*) FILTER (WHERE within_sla) FROM resolved) AS within_sla
"""
# With service levels (the columns exist): closed tickets whose resolution target was met in time.
WITHIN_SLA = "t.sla_resolution_met_at <= t.sla_resolution_due_at"

SITE_EVALUATION = re.compile(r"^/api/v1/sites/([0-9a-fA-F-]{36})/ticket-evaluation$")
# The app's error bodies are problem documents; only the status matters to the load generator.
UNAUTHORIZED = 401, b'{"detail":"unauthorized"}'
NOT_FOUND = 404, b'{"detail":"There is no ticket evaluation here."}'


@dataclass(frozen=True, slots=True)
class Principal:
    id: uuid.UUID
    kind: str  # "employee" or "customer_user"
    customer_id: uuid.UUID | None
    tenant_ids: tuple[uuid.UUID, ...]
    is_admin: bool


def principal_from(row: asyncpg.Record) -> Principal:
    return Principal(
        row["id"], row["kind"], row["customer_id"], tuple(sorted(row["tenant_ids"])), row["is_admin"]
    )


def build_sql(principal: Principal, *, after: bool, search: bool) -> str:
    """One statement per kind of account, cursor and search, all with positional parameters.

    Employees: the tenants are spelled out as `IN ($1, $2, ...)` like SQLAlchemy renders them;
    `= ANY($1)` would keep PostgreSQL 16 from reading the (tenant_id, created_at, id) index in order.
    Customer users: $1 is the user, $2 the customer, with the subqueries of `ticket_scope`.
    """
    if principal.kind == "employee":
        n = len(principal.tenant_ids)
        where = [f"t.tenant_id IN ({', '.join(f'${i + 1}' for i in range(n))})"]
    else:
        n = 2
        where = [f"t.site_id IN ({CUSTOMER_SITES})", f"t.ticket_type_id IN ({ENABLED_TYPES})"]
    if after:
        where.append(f"(t.created_at, t.id) < (${n + 1}, ${n + 2})")
        n += 2
    if search:
        query = f"websearch_to_tsquery('german', ${n + 1})"
        if principal.kind == "employee":
            where.append(f"(t.search_public @@ {query} OR t.search_internal @@ {query})")
        else:  # a customer's search must not look into internal notes
            where.append(f"t.search_public @@ {query}")
        n += 1
    # Like the application: the page is found on ids first, then only its rows are read and joined.
    return (
        f"SELECT {COLUMNS} FROM (SELECT t.id FROM tickets t WHERE {' AND '.join(where)} "
        f"ORDER BY t.created_at DESC, t.id DESC LIMIT ${n + 1}) page "
        "JOIN tickets t ON t.id = page.id JOIN accounts a ON a.id = t.created_by_id "
        "LEFT JOIN ticket_ratings r ON r.ticket_id = t.id "
        "ORDER BY t.created_at DESC, t.id DESC"
    )


def scope_args(principal: Principal) -> list[Any]:
    if principal.kind == "employee":
        return list(principal.tenant_ids)
    return [principal.id, principal.customer_id]


def iso(value: dt.datetime | None) -> str | None:
    # Pydantic writes UTC as `Z`; asyncpg hands back UTC datetimes.
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def encode_cursor(created_at: dt.datetime, id_: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(id_)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    created_at, id_ = json.loads(raw)
    return dt.datetime.fromisoformat(created_at), uuid.UUID(id_)


def item(row: asyncpg.Record) -> dict[str, Any]:
    assignee, due = row["assignee_id"], row["due_date"]
    return {
        "id": str(row["id"]),
        "number": row["number"],
        "tenant_id": str(row["tenant_id"]),
        "site_id": str(row["site_id"]),
        "ticket_type_id": str(row["ticket_type_id"]),
        "title": row["title"],
        "description": row["description"],
        "status": row["status"],
        "assignee_id": None if assignee is None else str(assignee),
        "due_date": None if due is None else due.isoformat(),
        "created_by": {
            "kind": row["creator_kind"],
            "id": str(row["creator_id"]),
            "name": row["creator_name"],
        },
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "closed_at": iso(row["closed_at"]),
        "rating": None
        if row["rated_ticket"] is None
        else {
            "score": row["rating_score"],
            "comment": row["rating_comment"],
            "created_at": iso(row["rated_at"]),
        },
    }


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class RawTickets:
    """An ASGI app: the ticket list, the two evaluations and a health check for start-up polling."""

    def __init__(self, url: str, email: str, *, authenticate: bool) -> None:
        self.url = url
        self.email = email
        self.authenticate = authenticate
        self.pool: asyncpg.Pool | None = None
        self.fixed: Principal | None = None  # the account served without authentication
        self.signing_key = ""
        self.sql: dict[tuple[str, int, bool, bool], str] = {}
        self.evaluation_sql = ""
        self.with_sla = False

    async def startup(self) -> None:
        # As many connections as the application's pool may open (pool_size 10 + max_overflow 10).
        self.pool = await asyncpg.create_pool(self.url, min_size=10, max_size=20)
        row = await self.pool.fetchrow(PRINCIPAL_SQL.format(where="a.email = $1"), self.email)
        if row is None:
            raise RuntimeError(f"no account {self.email}: run bench/fill.py first")
        # The evaluation reports `within_sla` once tickets have service levels.
        self.with_sla = bool(
            await self.pool.fetchval(
                "SELECT 1 FROM information_schema.columns WHERE table_name = 'tickets' "
                "AND column_name = 'sla_resolution_met_at'"
            )
        )
        self.evaluation_sql = EVALUATION_SQL.format(
            within_sla=WITHIN_SLA if self.with_sla else "NULL::boolean"
        )
        self.fixed = principal_from(row)
        # The key the app signs with: the same precedence as `create_app` (setting, then database).
        self.signing_key = os.environ.get("BLINK_SECRET_KEY") or await self.pool.fetchval(
            "SELECT value FROM app_secrets WHERE name = 'token_signing_key'"
        )
        if self.authenticate and not self.signing_key:
            raise RuntimeError("no token signing key: start the app once (it creates app_secrets)")

    def statement(self, principal: Principal, *, after: bool, search: bool) -> str:
        key = (principal.kind, len(principal.tenant_ids), after, search)
        sql = self.sql.get(key)
        if sql is None:
            sql = self.sql[key] = build_sql(principal, after=after, search=search)
        return sql

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.startup()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.pool is not None:
                        await self.pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if path == "/health":
            status, body = 200, b'{"status":"ok"}'
        else:
            assert self.pool is not None
            # One connection per request, as the app's session holds one for the whole request.
            async with self.pool.acquire() as conn:
                status, body = await self.route(conn, scope, path)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def route(self, conn: asyncpg.Connection, scope: dict[str, Any], path: str) -> tuple[int, bytes]:
        site = SITE_EVALUATION.match(path)
        if path != "/api/v1/tickets" and path != "/api/v1/ticket-evaluation" and site is None:
            return 404, b'{"detail":"not found"}'
        principal = await self.principal(conn, scope) if self.authenticate else self.fixed
        if principal is None:
            return UNAUTHORIZED
        if path == "/api/v1/tickets":
            return await self.list_tickets(conn, principal, parse_qs(scope["query_string"].decode("latin-1")))
        if principal.kind != "customer_user":
            return 422, b'{"detail":"the raw evaluation serves customer users only"}'
        try:
            site_id = uuid.UUID(site.group(1)) if site else None
        except ValueError:
            return 422, b'{"detail":"bad site id"}'
        return await self.evaluation(conn, principal, site_id)

    async def principal(self, conn: asyncpg.Connection, scope: dict[str, Any]) -> Principal | None:
        """The caller, from the bearer token: the checks of the app's `get_principal`, one query."""
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credentials = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    token = credentials.strip()
                break
        if not token:
            return None
        try:
            claims = jwt.decode(
                token,
                self.signing_key,
                algorithms=["HS256"],
                audience="blink-api",
                options={"require": ["sub", "exp", "ver"]},
            )
            account_id, version = uuid.UUID(claims["sub"]), int(claims["ver"])
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        row = await conn.fetchrow(PRINCIPAL_SQL.format(where="a.id = $1"), account_id)
        if row is None or not row["is_active"] or row["token_version"] != version:
            return None
        return principal_from(row)

    async def list_tickets(
        self, conn: asyncpg.Connection, principal: Principal, params: dict[str, list[str]]
    ) -> tuple[int, bytes]:
        if principal.kind == "employee" and (principal.is_admin or not principal.tenant_ids):
            return 422, b'{"detail":"the raw list serves employees of some tenants only"}'
        limit = int(params.get("limit", ["50"])[0])
        args = scope_args(principal)
        cursor = params.get("cursor", [None])[0]
        if cursor:
            try:
                args += decode_cursor(cursor)
            except (ValueError, TypeError, binascii.Error):
                return 422, b'{"detail":"bad cursor"}'
        q = (params.get("q", [""])[0]).strip()[:500]
        if q:
            args.append(q)
        args.append(limit + 1)
        rows = await conn.fetch(self.statement(principal, after=bool(cursor), search=bool(q)), *args)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"])
        return 200, dumps({"items": [item(r) for r in rows], "next_cursor": next_cursor})

    async def evaluation(
        self, conn: asyncpg.Connection, principal: Principal, site_id: uuid.UUID | None
    ) -> tuple[int, bytes]:
        row = await conn.fetchrow(self.evaluation_sql, principal.id, principal.customer_id, site_id)
        g = row["group_days"]
        if g is None or not row["sites"]:  # not enabled, or no visible site: the app's 404
            return NOT_FOUND
        counts = dict(zip(row["bucket_index"] or [], row["bucket_count"] or [], strict=True))
        buckets = (
            [
                {"from_days": k * g, "to_days": (k + 1) * g - 1, "count": counts.get(k, 0)}
                for k in range(min(counts), max(counts) + 1)
            ]
            if counts
            else []
        )
        average = row["average"]
        return 200, dumps({
            "group_days": g,
            "total": row["total"],
            **({"within_sla": row["within_sla"]} if self.with_sla else {}),
            "median_days": row["median"],
            "buckets": buckets,
            "satisfaction": {"count": row["rated"], "average": None if average is None else float(average)},
        })  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--email", required=True, help="the account served without --authenticate")
    parser.add_argument(
        "--authenticate",
        action="store_true",
        help="verify the bearer token and load the principal on every request, as the app does",
    )
    args = parser.parse_args()
    app = RawTickets(os.environ["DATABASE_URL"], args.email, authenticate=args.authenticate)
    # The options `blink-api serve` passes, minus the app factory; no access log, like the app's
    # (which disables uvicorn's in favour of its own).
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, proxy_headers=True, access_log=False)


if __name__ == "__main__":
    main()
