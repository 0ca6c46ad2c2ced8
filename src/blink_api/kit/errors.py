"""One error hierarchy, rendered as RFC 9457 `application/problem+json`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blink_api.kit.db import database_unavailable
from blink_api.kit.problem_types import PROBLEM_TYPES, ProblemType, problem_type

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    """One offending value of an invalid request (a 422 problem's `errors` item)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "loc": ["body", "title"],
                    "msg": "String should have at least 1 character",
                    "type": "string_too_short",
                }
            ]
        }
    )

    loc: list[str | int] = Field(
        description="Where the value is: first `body`, `query`, `path` or `header`, then the field names "
        'and list positions down to it, e.g. `["body", "title"]` or `["body", "items", 2, "answer"]`.'
    )
    msg: str = Field(description="What is wrong with the value, in words a person can read.")
    type: str = Field(
        description="What is wrong, for programs: a stable code such as `missing`, `string_too_long` or "
        "`value_error`."
    )


class Problem(BaseModel):
    """An RFC 9457 problem document: what every error of the API answers, as
    `application/problem+json`. Its `type` leads to a page describing the problem (`GET /problems`
    lists them all)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/validation-error",
                    "title": "Invalid input",
                    "status": 422,
                    "detail": "The request is not valid: body.title, body.site_id.",
                    "instance": "/api/v1/tickets",
                    "errors": [
                        {"loc": ["body", "title"], "msg": "Field required", "type": "missing"},
                        {
                            "loc": ["body", "site_id"],
                            "msg": "Input should be a valid UUID",
                            "type": "uuid_parsing",
                        },
                    ],
                },
                {
                    "type": "/problems/precondition-failed",
                    "title": "Precondition failed",
                    "status": 412,
                    "detail": "The ticket was changed since you read it; reload it and try again.",
                    "instance": "/api/v1/tickets/5f0c2b9e-8d7a-4c1e-9b3f-2a6d1e4c7b80",
                },
            ]
        }
    )

    type: str = Field(
        default="about:blank",
        description="The kind of problem, as a URI reference relative to the API's origin: "
        "`/problems/<slug>`, where a page (HTML, or JSON when asked) says when it happens and what to "
        "do. Programs should tell problems apart by this, not by `title` or `detail`.",
    )
    title: str = Field(
        description="A short summary of the kind of problem; the same for every problem of a `type`."
    )
    status: int = Field(description="The HTTP status code of the answer, repeated for convenience.")
    detail: str | None = Field(
        default=None, description="What went wrong with this request in particular, for a person to read."
    )
    instance: str | None = Field(
        default=None,
        description="The path of the request that failed (percent-encoded), e.g. to quote in a report.",
    )
    errors: list[FieldError] | None = Field(
        default=None,
        description="With `/problems/validation-error` only: every offending value of the request, each "
        "with where it is (`loc`), what is wrong (`msg`) and a code for it (`type`).",
    )


class AppError(Exception):
    """An error answered as a problem of the registered type `slug` (`kit.problem_types`), whose status
    and title it takes: a subclass naming a slug nobody registered fails at import."""

    slug: str = "internal-error"
    status: int = 500
    title: str = "Internal server error"
    headers: dict[str, str] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = problem_type(cls.slug)
        cls.status, cls.title = kind.status, kind.title

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
        return problem_type(self.slug).uri


# Status and title of each come from the registry; the comment repeats the status for the reader.
class Unauthorized(AppError):
    slug = "unauthorized"  # 401
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    slug = "forbidden"  # 403


class NotFound(AppError):
    slug = "not-found"  # 404


class Conflict(AppError):
    slug = "conflict"  # 409


class PreconditionFailed(AppError):
    slug = "precondition-failed"  # 412


class PayloadTooLarge(AppError):
    slug = "payload-too-large"  # 413


class UnsupportedMediaType(AppError):
    slug = "unsupported-media-type"  # 415


class Invalid(AppError):
    slug = "validation-error"  # 422

    @classmethod
    def at(cls, loc: Sequence[str | int], msg: str, type_: str = "value_error") -> Invalid:
        """A single-field validation failure, `loc` being the path as in request validation errors."""
        return cls(msg, errors=[FieldError(loc=list(loc), msg=msg, type=type_)])


class TooManyRequests(AppError):
    slug = "too-many-requests"  # 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class ServiceUnavailable(AppError):
    slug = "service-unavailable"  # 503
    headers = {"Retry-After": "1"}


# Problems of statuses the framework raises by itself (HTTPException), by the registered type that
# describes them (not 422, whose page promises an `errors` list). Any other status is answered with
# RFC 9457's `about:blank`: "see the status code".
_TYPE_OF_STATUS: dict[int, ProblemType] = {
    kind.status: kind for kind in PROBLEM_TYPES.values() if kind.slug != "validation-error"
}


def instance_of(path: str) -> str:
    """A request's decoded path as the problem's `instance`: a URI reference, percent-encoded again,
    so that nothing a client put in the path comes back as markup or a stray character."""
    return quote(path, safe="/!$&'()*+,;=:@")


def problem_response(
    slug: str,
    *,
    detail: str,
    instance: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The problem of the registered type `slug` (status and title from the registry); a slug that
    is not registered raises `LookupError`, so a type without a page never leaves the API."""
    kind = problem_type(slug)
    return _problem(kind.status, kind.title, kind.uri, detail, instance, errors, headers)


def _problem(
    status: int,
    title: str,
    type_: str,
    detail: str,
    instance: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance_of(instance),
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _jsonable_loc(loc: Sequence[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        exc.slug,
        detail=exc.detail or exc.title,
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
            UnsupportedMediaType.slug,
            detail=f"Send the body as application/json, not {sent}.",
            instance=request.url.path,
        )
    errors = [
        {"loc": _jsonable_loc(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
    return problem_response(
        Invalid.slug,
        detail=f"The request is not valid: {fields}.",
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
            Invalid.slug,
            detail=msg,
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
    kind = _TYPE_OF_STATUS.get(exc.status_code)
    if kind is not None:
        return problem_response(
            kind.slug, detail=detail or kind.title, headers=headers or None, instance=request.url.path
        )
    status = HTTPStatus(exc.status_code)
    return _problem(
        status.value,
        status.phrase,
        "about:blank",
        detail or status.phrase,
        request.url.path,
        headers=headers or None,
    )


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # Services translate the violations they expect; this one is the net under a race
    # (two requests creating the same unique value at once), never a 500.
    log.warning("integrity error reached the handler", exc_info=exc)
    return problem_response(
        Conflict.slug,
        detail="The change conflicts with the current state of the data.",
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
            ServiceUnavailable.slug,
            detail="The database is not available at the moment; try again.",
            headers=dict(ServiceUnavailable.headers or {}),
            instance=instance,
        )
    return problem_response(
        AppError.slug,
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
