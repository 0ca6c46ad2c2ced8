"""The application factory: routers, middleware, error handlers and the process's start-up work."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blink_api import __version__, bootstrap, contract
from blink_api.attachments.router import router as attachments_router
from blink_api.attachments.router import ticket_attachments_router
from blink_api.customers.router import router as customers_router
from blink_api.customers.router import users_router as customer_users_router
from blink_api.documents.router import router as documents_router
from blink_api.employees.router import groups_router
from blink_api.employees.router import router as employees_router
from blink_api.evaluations.router import router as evaluations_router
from blink_api.files.router import uploads_router
from blink_api.files.sniffing import ALLOWED_TYPES
from blink_api.forms.router import public_router as public_forms_router
from blink_api.forms.router import reports_router, submission_pdf_router, submissions_router, templates_router
from blink_api.identity import scopes
from blink_api.identity.dependencies import token_scope
from blink_api.identity.repository import signing_key
from blink_api.identity.router import api_tokens_router, me_router
from blink_api.identity.router import router as auth_router
from blink_api.identity.scopes import RouteScope
from blink_api.kit.capacity import Gate
from blink_api.kit.config import Settings, get_settings
from blink_api.kit.context import AppContext
from blink_api.kit.db import Database, resolve_database_url
from blink_api.kit.errors import (
    UnexpectedErrorMiddleware,
    install_error_handlers,
)
from blink_api.kit.limits import RequestBodyMiddleware
from blink_api.kit.observability import Metrics, RequestContextMiddleware
from blink_api.kit.passwords import Passwords
from blink_api.kit.storage import storage_from_settings
from blink_api.kit.tokens import Tokens
from blink_api.notifications.delivery import DeliveryWorker
from blink_api.notifications.router import router as outbox_router
from blink_api.schedules.router import plan_router
from blink_api.schedules.router import router as schedules_router
from blink_api.schedules.worker import ScheduleWorker
from blink_api.sites.router import router as sites_router
from blink_api.system.router import router as system_router
from blink_api.tenants.business_hours_router import router as business_hours_router
from blink_api.tenants.router import router as tenants_router
from blink_api.ticket_types.router import router as ticket_types_router
from blink_api.tickets.comment_router import router as ticket_comments_router
from blink_api.tickets.following_router import router as ticket_following_router
from blink_api.tickets.rating_router import router as ticket_rating_router
from blink_api.tickets.router import router as tickets_router
from blink_api.tickets.sla_router import router as sla_policies_router
from blink_api.tickets.sla_worker import SlaWorker
from blink_api.webhooks.delivery import WebhookWorker
from blink_api.webhooks.router import router as webhooks_router

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

DESCRIPTION = """
Tickets, customer portal and inspection forms for facility-services companies.

Log in with **Authorize** (e-mail and password), or paste an API token there (`POST /api/v1/api-tokens`:
it acts as you, narrowed to its scopes; each operation's description, and its `x-token-scope`, names
the scope it needs). Every error is an RFC 9457 problem document whose `type` is a page served under
`/problems`.
Lists answer `{items, next_cursor}`: pass `next_cursor` as `cursor` until it is null.
"""


# FastAPI tries routes in the order they were included, one pattern after another, so the routers
# most requests go to come first (ticket lists and tickets, their comments and attachments, the
# portal's sites).
# Paths never overlap between routers, so the order changes nothing else; the documentation orders
# its sections by TAGS instead.
#
# Beside each router, the scope an API token needs for its routes (`identity.scopes`): the one place
# it is declared. Reads need the family's `:read`, every other method its `:write`. None: the routes
# are public (they say so themselves). A test walks the route table and holds every route to one rule.
# Ticket attachments, site documents and evaluations are tickets (what they show is ticket data);
# uploads are for forms (photos and signatures, employees only); the outbox is the queue outgoing
# deliveries ride on, managed with webhooks; `/me` is any token's own identity; API tokens are managed
# with a password log-in only, so no token can mint a wider or longer-lived one.
_ROUTERS_BY_TRAFFIC: tuple[tuple[APIRouter, RouteScope | None], ...] = (
    (tickets_router, scopes.TICKETS),
    (ticket_comments_router, scopes.TICKETS),
    (ticket_rating_router, scopes.TICKETS),
    (ticket_following_router, scopes.TICKETS),
    (ticket_attachments_router, scopes.TICKETS),
    (attachments_router, scopes.TICKETS),
    (sites_router, scopes.SITES),
    (documents_router, scopes.TICKETS),
    (reports_router, scopes.TICKETS),
    (plan_router, scopes.SITES),
    (evaluations_router, scopes.TICKETS),
    (me_router, scopes.SELF),
    (auth_router, None),
    (uploads_router, scopes.FORMS),
    (submissions_router, scopes.FORMS),
    (submission_pdf_router, scopes.FORM_PDFS),
    (public_forms_router, None),
    (templates_router, scopes.FORMS),
    (ticket_types_router, scopes.MASTER_DATA),
    (tenants_router, scopes.MASTER_DATA),
    (business_hours_router, scopes.MASTER_DATA),
    (sla_policies_router, scopes.MASTER_DATA),
    (customers_router, scopes.PORTAL),
    (customer_users_router, scopes.PORTAL),
    (employees_router, scopes.MASTER_DATA),
    (groups_router, scopes.MASTER_DATA),
    (schedules_router, scopes.MASTER_DATA),
    (api_tokens_router, scopes.PASSWORD_ONLY),
    (webhooks_router, scopes.WEBHOOKS),
    (outbox_router, scopes.WEBHOOKS),
)

# The sections of the API documentation, in reading order.
TAGS = [
    {"name": "auth", "description": "Log in, set a password."},
    {"name": "me", "description": "The caller."},
    {"name": "api-tokens", "description": "Tokens third-party systems call the API with, acting as you."},
    {"name": "tenants", "description": "Companies of the group (master data)."},
    {"name": "sites", "description": "Objects: the buildings served."},
    {"name": "ticket-types", "description": "Ticket types per tenant."},
    {"name": "customers", "description": "Customers and their portal configuration."},
    {"name": "customer-users", "description": "Customer users and their sites."},
    {"name": "employees", "description": "Employees and their tenants."},
    {"name": "permission-groups", "description": "Permissions of employees."},
    {
        "name": "sla-policies",
        "description": "Service levels: first-response and resolution times per tenant (administrators).",
    },
    {"name": "tickets", "description": "Tickets, comments, history."},
    {"name": "attachments", "description": "Files on tickets."},
    {"name": "uploads", "description": "Files uploaded before the form or ticket that uses them."},
    {"name": "documents", "description": "Documents per site (customer portal)."},
    {"name": "evaluations", "description": "Ticket evaluation (customer portal)."},
    {"name": "reports", "description": "Inspection reports per site (customer portal)."},
    {"name": "form-templates", "description": "Inspection form templates."},
    {"name": "form-submissions", "description": "Filled inspection forms."},
    {"name": "public-forms", "description": "Forms filled through a public link."},
    {"name": "schedules", "description": "Recurring jobs and inspections that raise tickets on their dates."},
    {
        "name": "webhooks",
        "description": "Signed HTTP calls to other systems when things happen (administrators).",
    },
    {"name": "outbox", "description": "Mail delivery (administrators)."},
    {"name": "system", "description": "Health and metrics."},
    {
        "name": "problems",
        "description": "What each problem `type` means and what to do about it (public pages).",
    },
]


def include_api(app: FastAPI) -> None:
    """Every router of the API under `API_PREFIX`, each included into the app itself.

    Not through one router holding them all: FastAPI matches an included router's routes once to
    choose it and once more to hand the request on, at every level of nesting, so a level holding
    every route would walk all of them twice on each request before the chosen router's own.
    """
    for router, scope in _ROUTERS_BY_TRAFFIC:
        dependencies = [] if scope is None else [token_scope(scope)]
        app.include_router(router, prefix=API_PREFIX, dependencies=dependencies)


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every operation of the app with its full path, through included routers."""
    return [rc for rc in iter_route_contexts(app.routes) if isinstance(rc.original_route, APIRoute)]


def _operation_id(route: APIRoute) -> str:
    # Every route is named `domain:action`; generated clients get it in snake case (`tickets_create`).
    return contract.operation_id(route.name)


async def build_context(settings: Settings, database: Database) -> AppContext:
    passwords = Passwords(settings)
    key = settings.secret_key
    if not key:
        async with database.sessionmaker.begin() as session:
            key = await signing_key(session)
    tokens = Tokens(key, timedelta(minutes=settings.access_token_ttl_minutes))
    return AppContext(
        settings=settings,
        database=database,
        passwords=passwords,
        tokens=tokens,
        storage=storage_from_settings(settings),
        renders=Gate(settings.render_concurrency, settings.render_wait_seconds, what="render"),
    )


async def run_startup_data(ctx: AppContext) -> None:
    settings = ctx.settings
    if settings.bootstrap_admin_email and settings.bootstrap_admin_password:
        async with ctx.database.sessionmaker.begin() as session:
            await bootstrap.bootstrap_admin(
                session, ctx.passwords, settings.bootstrap_admin_email, settings.bootstrap_admin_password
            )
    if settings.demo_data:
        async with ctx.database.sessionmaker.begin() as session:
            logins = await bootstrap.demo_data(session, ctx.passwords)
        lines = [f"  {login.email:<38} {login.password:<18} {login.role}" for login in logins]
        print("\nDemo logins (e-mail, password, role):\n" + "\n".join(lines), flush=True)


class NoContentWithoutType:
    """A 204 or 304 has no body, so it names no media type (FastAPI's JSON default would)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_typed(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (204, 304):
                message["headers"] = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"content-type"
                ]
            await send(message)

        await self.app(scope, receive, send_typed)


# What a browser front end on an allowed origin may send, and may read of an answer beyond the headers
# every page may read.
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
)
CORS_EXPOSED_HEADERS = (
    "Content-Disposition",
    "ETag",
    "Idempotent-Replayed",
    "Location",
    "Retry-After",
    "X-Request-ID",
)


class CrossOrigin(CORSMiddleware):
    """Starlette's CORS for the origins the operator allows (`BLINK_CORS_ORIGINS`).

    A request from any other origin passes by untouched, exactly as with no origin allowed: no
    `Access-Control-*` header, and a preflight is a plain `OPTIONS` (405 problem), never Starlette's
    plain-text 400. A preflight from an allowed origin is answered with what is allowed, and the browser
    compares its request with that. Every answer varies by `Origin`, so a shared cache never hands one
    origin's answer to another.
    """

    def __init__(self, app: ASGIApp, origins: tuple[str, ...], methods: list[str]) -> None:
        super().__init__(
            app,
            allow_origins=origins,
            allow_methods=methods,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = Headers(scope=scope).get("origin")
            if origin is None or not self.is_allowed_origin(origin):

                async def send_varying(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        message.setdefault("headers", [])
                        headers = MutableHeaders(scope=message)
                        headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
                    await send(message)

                await self.app(scope, receive, send_varying)
                return
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        allowed = super().preflight_response(request_headers)
        headers = {k: v for k, v in allowed.headers.items() if k not in ("content-length", "content-type")}
        return Response(status_code=204, headers=headers)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database or Database.from_settings(resolve_database_url(settings), settings)
        ctx = await build_context(settings, db)
        app.state.context = ctx
        await run_startup_data(ctx)
        # What start-up built lives as long as the process: keep it out of every collection, and
        # collect young objects less often (each request makes many), so no request stalls on GC.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        stop = asyncio.Event()
        worker_task = webhook_task = worker_db = webhook_db = sla_task = sla_db = None
        schedule_task = schedule_db = None
        if settings.embedded_worker:
            # Connections of its own: requests exhausting their pool never stop the mail.
            worker_db = DeliveryWorker.database_for(db.url, settings)
            worker = DeliveryWorker(worker_db, settings, on_outcome=lambda o: metrics.mails.labels(o).inc())
            worker_task = asyncio.create_task(worker.run(stop))
            # A task of its own: a slow receiver never holds up the mail.
            webhook_db = WebhookWorker.database_for(db.url, settings)
            webhook_task = asyncio.create_task(WebhookWorker(webhook_db, settings).run(stop))
            # Service-level recomputations and breaches, on a connection of their own too.
            sla_db = SlaWorker.database_for(db.url, settings)
            sla_task = asyncio.create_task(SlaWorker(sla_db, settings).run(stop))
            schedule_db = ScheduleWorker.database_for(db.url, settings)
            schedule_task = asyncio.create_task(ScheduleWorker(schedule_db, settings).run(stop))
        try:
            yield
        finally:
            stop.set()
            if worker_task is not None:
                await worker_task
            if webhook_task is not None:
                await webhook_task
            if sla_task is not None:
                await sla_task
            if schedule_task is not None:
                await schedule_task
            if schedule_db is not None:
                await schedule_db.dispose()
            if worker_db is not None:
                await worker_db.dispose()
            if webhook_db is not None:
                await webhook_db.dispose()
            if sla_db is not None:
                await sla_db.dispose()
            await ctx.storage.close()
            if database is None:
                await db.dispose()

    app = FastAPI(
        title="Blink API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        generate_unique_id_function=_operation_id,
        separate_input_output_schemas=False,
        openapi_tags=TAGS,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    app.include_router(system_router)
    include_api(app)
    app.add_middleware(NoContentWithoutType)
    # Outermost last: request id and access log, then the body read in full (so no endpoint waits on
    # a client while holding a database connection), then the net for errors no handler knows.
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(
        RequestBodyMiddleware,
        max_body=settings.max_body_bytes,
        max_upload=settings.max_upload_bytes,
        timeout_seconds=settings.body_timeout_seconds,
        min_bytes_per_second=settings.body_min_bytes_per_second,
    )
    # Large answers (lists, CSV exports, the OpenAPI document) compressed for clients that accept gzip.
    # Stored files are sent as they are, with their length: images, PDFs and office documents are
    # compressed already (an uploaded CSV is the one stored type that gets compressed on the way).
    stored = sorted(ALLOWED_TYPES - {"text/csv"})
    app.add_middleware(
        GZipMiddleware,
        minimum_size=1024,
        compresslevel=6,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, *stored),
    )
    if settings.cors_origins:
        # Outside everything that answers by itself (413, 408, 500, 503), so that a page of an allowed
        # origin can read every problem; inside the request id, so preflights are logged too.
        methods = sorted({method for rc in iter_route_contexts(app.routes) for method in rc.methods or ()})
        app.add_middleware(CrossOrigin, origins=settings.cors_origins, methods=methods)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app


def openapi_document(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    app.openapi_schema = contract.build_document(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags or [],
        contexts=api_routes(app),
    )
    return app.openapi_schema
