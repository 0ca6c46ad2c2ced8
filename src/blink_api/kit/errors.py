"""One error hierarchy, rendered as RFC 9457 `application/problem+json`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blink_api.kit.db import database_unavailable

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    loc: list[str | int] = Field(description='Path to the offending field, e.g. `["body", "title"]`.')
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(default="about:blank", description="A URI reference identifying the problem type.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class AppError(Exception):
    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal server error"
    headers: dict[str, str] | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = list(errors) if errors else None
        if headers:
            self.headers = headers

    @property
    def type_uri(self) -> str:
        return f"/problems/{self.slug}"


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Authentication required"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(AppError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Invalid(AppError):
    status, slug, title = 422, "validation-error", "Invalid input"

    @classmethod
    def at(cls, loc: Sequence[str | int], msg: str, type_: str = "value_error") -> Invalid:
        """A single-field validation failure, `loc` being the path as in request validation errors."""
        return cls(msg, errors=[FieldError(loc=list(loc), msg=msg, type=type_)])


class TooManyRequests(AppError):
    status, slug, title = 429, "too-many-requests", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class ServiceUnavailable(AppError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"
    headers = {"Retry-After": "1"}


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type_: str = "about:blank",
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _jsonable_loc(loc: Sequence[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        exc.status,
        title=exc.title,
        detail=exc.detail or exc.title,
        type_=exc.type_uri,
        errors=[e.model_dump() for e in exc.errors] if exc.errors else None,
        headers=exc.headers,
        instance=request.url.path,
    )


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _json_body_sent_as_something_else(request: Request, exc: RequestValidationError) -> bool:
    # FastAPI decodes a body as JSON only when it is labelled JSON; any other body reaches a JSON
    # route's validation as raw bytes.
    return not _is_json(request.headers.get("content-type")) and any(
        tuple(e.get("loc", ())) == ("body",) and isinstance(e.get("input"), bytes) for e in exc.errors()
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if _json_body_sent_as_something_else(request, exc):
        sent = request.headers.get("content-type") or "no content type"
        return problem_response(
            415,
            title=UnsupportedMediaType.title,
            detail=f"Send the body as application/json, not {sent}.",
            type_="/problems/unsupported-media-type",
            instance=request.url.path,
        )
    errors = [
        {"loc": _jsonable_loc(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
    return problem_response(
        422,
        title="Invalid input",
        detail=f"The request is not valid: {fields}.",
        type_="/problems/validation-error",
        errors=errors,
        instance=request.url.path,
    )


def _unreadable_body(exc: StarletteHTTPException) -> str:
    """What was wrong with a body the framework could not decode (invalid UTF-8, broken multipart)."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, UnicodeDecodeError):
        return "The body is not valid UTF-8."
    if isinstance(cause, ValueError | RecursionError):
        return "The body is not JSON this API reads (too deeply nested, or a number too long)."
    detail = exc.detail if isinstance(exc.detail, str) else ""
    return (
        detail if detail and detail != "There was an error parsing the body" else "The body cannot be read."
    )


def allowed_methods(app: Any, path: str) -> list[str]:
    """Every method some route of `app` serves at `path` (for the `Allow` header of a 405)."""
    index = getattr(app.state, "allow_index", None)
    if index is None:
        index = [
            (compile_path(rc.path)[0], rc.methods or set())
            for rc in iter_route_contexts(app.routes)
            if rc.path is not None
        ]
        app.state.allow_index = index
    return sorted({method for regex, methods in index if regex.match(path) for method in methods})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # Undecodable bodies are input errors like any other: one vocabulary, 422 at `body`.
        msg = _unreadable_body(exc)
        return problem_response(
            422,
            title="Invalid input",
            detail=msg,
            type_="/problems/validation-error",
            errors=[{"loc": ["body"], "msg": msg, "type": "body_unreadable"}],
            instance=request.url.path,
        )
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 404 and detail in (None, "Not Found"):
        detail = "No resource lives at this address."
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed here."
        # A path's methods are spread over several routes; the one that matched knows only its own.
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope["path"]))
    return problem_response(
        exc.status_code, detail=detail, headers=headers or None, instance=request.url.path
    )


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # Services translate the violations they expect; this one is the net under a race
    # (two requests creating the same unique value at once), never a 500.
    log.warning("integrity error reached the handler", exc_info=exc)
    return problem_response(
        409,
        title="Conflict",
        detail="The change conflicts with the current state of the data.",
        type_="/problems/conflict",
        instance=request.url.path,
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # The last net, for errors raised outside UnexpectedErrorMiddleware (in the outer middleware).
    log.exception("unhandled error", exc_info=exc)
    return _unexpected_error_response(exc, request.url.path)


def _unexpected_error_response(exc: BaseException, instance: str) -> JSONResponse:
    """503 with Retry-After when the database cannot serve (down, stalled, pool exhausted), else 500."""
    if database_unavailable(exc):
        return problem_response(
            503,
            title="Service unavailable",
            detail="The database is not available at the moment; try again.",
            type_="/problems/service-unavailable",
            headers=dict(ServiceUnavailable.headers or {}),
            instance=instance,
        )
    return problem_response(
        500,
        title="Internal server error",
        detail="An unexpected error occurred; it has been logged.",
        instance=instance,
    )


class UnexpectedErrorMiddleware:
    """Answers errors no handler knows (500, or 503 for an unavailable database) and ends them here.

    Starlette's outermost error middleware re-raises after answering, which makes the server drop
    the keep-alive connection; nothing is wrong with the connection, so the error stops here. Only
    an error after the response has started is passed on: that response cannot be completed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = completed = False

        async def tracking_send(message: Message) -> None:
            nonlocal started, completed
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                completed = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            log.info("client disconnected before the request was read")
        except Exception as exc:
            if completed:  # e.g. a background task: the answer is out, the connection is fine
                log.exception("unhandled error after the response", exc_info=exc)
                return
            if started:
                raise
            if database_unavailable(exc):
                log.warning("database unavailable", exc_info=exc)
            else:
                log.exception("unhandled error", exc_info=exc)
            await _unexpected_error_response(exc, scope["path"])(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    # Every other error, the database's included, goes to UnexpectedErrorMiddleware: only an
    # unreachable, stalled or saturated database is "try again" (503); a wrong query stays a 500.
    app.add_exception_handler(Exception, _unhandled)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problem statuses an operation can answer."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
