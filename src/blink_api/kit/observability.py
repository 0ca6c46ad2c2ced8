"""Structured logs, request ids and Prometheus metrics."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
import uuid

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
access_log = logging.getLogger("blink_api.access")

# What the access log and metrics record for a request whose client left before the answer.
CLIENT_CLOSED_REQUEST = 499

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str = "INFO", json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if json_lines:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log would repeat ours without the request id.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("pgserver").setLevel(logging.WARNING)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "blink_http_requests_total",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "blink_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            registry=self.registry,
        )
        self.mails = Counter(
            "blink_mails_total", "Mails handled by the delivery worker.", ["outcome"], registry=self.registry
        )

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RequestContextMiddleware:
    """Gives every request an id (echoed in `X-Request-ID`), logs it, and counts it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._templates: dict[str, str] | None = None

    def _template(self, scope: Scope) -> str:
        """The matched route's full path template (bounded label values, unlike raw paths)."""
        route = scope.get("route")
        if route is None:
            return "unmatched"
        if self._templates is None:
            # Routes of included routers know only their own part of the path; the app's table has it whole.
            from fastapi.routing import iter_route_contexts

            self._templates = {
                rc.name: rc.path
                for rc in iter_route_contexts(getattr(scope.get("app"), "routes", []))
                if rc.name
            }
        return self._templates.get(getattr(route, "name", ""), getattr(route, "path", "unmatched"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        # Not reset afterwards: the outermost error handler still logs with it (one task per request).
        request_id_var.set(request_id)
        started = time.perf_counter()
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            failed = True
            raise
        finally:
            elapsed = time.perf_counter() - started
            template = self._template(scope)
            # No answer and no error: the client went away before it could be answered (499, as
            # proxies log it), which is not a server error.
            recorded = status if status is not None else (500 if failed else CLIENT_CLOSED_REQUEST)
            self.metrics.requests.labels(scope["method"], template, str(recorded)).inc()
            self.metrics.latency.labels(scope["method"], template).observe(elapsed)
            access_log.info(
                "request" if status is not None or failed else "client disconnected",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": recorded,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
