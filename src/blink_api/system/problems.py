"""Where a problem document's `type` leads: a page per kind of problem, and an index of them all.

`GET /problems/<slug>` answers a small self-contained HTML page (a browser following the `type`), or
JSON when the caller's `Accept` prefers `application/json` to `text/html`. Nothing of the request is
ever written into a page: every page is made from the registry (`kit.problem_types`) alone, and an
unknown slug is a 404 problem that does not repeat it either.
"""

from __future__ import annotations

import functools
import html
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ConfigDict, Field

from blink_api.kit.csv_export import media_weights
from blink_api.kit.errors import NotFound, problem_responses
from blink_api.kit.problem_types import PROBLEM_TYPES, TYPE_PREFIX, ProblemType
from blink_api.kit.schema import ResponseModel, Text

router = APIRouter(prefix=TYPE_PREFIX.rstrip("/"), tags=["problems"])

# The pages change only with the application; the answer depends on `Accept`.
_HEADERS = {"Cache-Control": "public, max-age=3600", "Vary": "Accept"}
# The pages load nothing and run nothing; their only style is inline.
_HTML_HEADERS = {
    **_HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


class ProblemTypeRead(ResponseModel):
    """A kind of problem the API answers with: what a problem document's `type` leads to."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "slug": "precondition-failed",
                    "type": "/problems/precondition-failed",
                    "title": "Precondition failed",
                    "status": 412,
                    "description": PROBLEM_TYPES["precondition-failed"].when,
                    "what_to_do": PROBLEM_TYPES["precondition-failed"].then,
                }
            ]
        }
    )

    slug: str = Field(description="The name of the problem type, the last segment of its `type`.")
    type: str = Field(description="The `type` of the problem documents of this kind: `/problems/<slug>`.")
    title: str = Field(description="The `title` every problem document of this kind carries.")
    status: int = Field(description="The HTTP status code problems of this kind are answered with.")
    description: str = Field(
        description="When the API answers with this problem. Code is marked with backticks."
    )
    what_to_do: str = Field(description="What the caller should do about it. Code is marked with backticks.")

    @classmethod
    def of(cls, kind: ProblemType) -> ProblemTypeRead:
        return cls(
            slug=kind.slug,
            type=kind.uri,
            title=kind.title,
            status=kind.status,
            description=kind.when,
            what_to_do=kind.then,
        )


class ProblemTypeList(ResponseModel):
    """Every kind of problem the API answers with, by status."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": ProblemTypeRead.model_config["json_schema_extra"]["examples"]}]
        }  # type: ignore[index]
    )

    items: list[ProblemTypeRead] = Field(description="The problem types, ordered by status, then slug.")
    next_cursor: str | None = Field(
        default=None,
        description="Always null: every problem type is on this one page (the shape of every list).",
    )


def _ordered() -> list[ProblemType]:
    return sorted(PROBLEM_TYPES.values(), key=lambda kind: (kind.status, kind.slug))


def prefers_json(accept: str | None) -> bool:
    """Whether `Accept` weighs JSON above HTML (each by its most specific matching range, RFC 9110
    §12.5.1). Absent, `*/*`, a tie or nonsense: HTML, what a browser following a `type` wants."""
    if not accept:
        return False
    weights = media_weights(accept)

    def weight(media: str) -> float:
        family = media.split("/")[0] + "/*"
        return weights.get(media, weights.get(family, weights.get("*/*", 0.0)))

    return weight("application/json") > weight("text/html")


# -- HTML ------------------------------------------------------------------------------------------

_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1f2328;background:#fff}"
    "main{max-width:42rem;margin:2rem auto;padding:0 1rem}"
    "code{font:0.9em ui-monospace,monospace;background:#f0f2f4;padding:0 .2em;border-radius:3px}"
    "a{color:#0a58ca}.status{color:#59636e}table{border-collapse:collapse}"
    "td,th{text-align:left;padding:.2rem 1rem .2rem 0;vertical-align:top}"
)


def _text(text: str) -> str:
    """Registry text as HTML: escaped first, then `code` marked up."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


@functools.cache
def type_page(slug: str) -> str:
    kind = PROBLEM_TYPES[slug]
    body = (
        f'<p><a href="{TYPE_PREFIX.rstrip("/")}">All problem types</a></p>'
        f"<h1>{html.escape(kind.title)}</h1>"
        f'<p class="status">HTTP status {kind.status} · type <code>{html.escape(kind.uri)}</code></p>'
        f"<h2>When it happens</h2><p>{_text(kind.when)}</p>"
        f"<h2>What to do</h2><p>{_text(kind.then)}</p>"
    )
    return _document(f"{kind.title} ({kind.status}) · Blink API problem", body)


@functools.cache
def index_page() -> str:
    rows = "".join(
        f'<tr><td>{kind.status}</td><td><a href="{html.escape(kind.uri)}">{html.escape(kind.title)}</a></td>'
        f"<td><code>{html.escape(kind.uri)}</code></td></tr>"
        for kind in _ordered()
    )
    body = (
        "<h1>Problem types</h1>"
        "<p>Every error of the Blink API is a problem document (RFC 9457, "
        "<code>application/problem+json</code>). Its <code>type</code> leads to one of these pages, "
        "which say when the problem happens and what to do about it.</p>"
        f"<table><thead><tr><th>Status</th><th>Title</th><th>Type</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return _document("Problem types · Blink API", body)


def _answer(request: Request, page: str, data: Any) -> Response:
    if prefers_json(request.headers.get("accept")):
        return JSONResponse(data, headers=_HEADERS)
    return HTMLResponse(page, headers=_HTML_HEADERS)


_PAGE_CONTENT = {
    "content": {
        "text/html": {"schema": {"type": "string"}},
    }
}
Slug = Annotated[Text, Path(description="The problem type: the last segment of a problem document's `type`.")]


@router.get(
    "",
    name="problems:list",
    summary="Every problem type",
    response_model=ProblemTypeList,
    responses={200: _PAGE_CONTENT},
)
async def list_problem_types(request: Request) -> Response:
    """Every kind of problem the API answers with: an HTML index linking to each page, or, when
    `Accept` prefers `application/json` to `text/html`, the same as JSON. Public."""
    items = [ProblemTypeRead.of(kind).model_dump() for kind in _ordered()]
    return _answer(request, index_page(), {"items": items, "next_cursor": None})


@router.get(
    "/{slug}",
    name="problems:read",
    summary="What a problem means",
    response_model=ProblemTypeRead,
    responses={200: _PAGE_CONTENT, **problem_responses(404, 422)},
)
async def read_problem_type(request: Request, slug: Slug) -> Response:
    """Where a problem document's `type` leads: when the problem happens and what to do about it, as
    a small HTML page, or, when `Accept` prefers `application/json` to `text/html`, as JSON. Public.
    An unknown slug answers a 404 problem; one holding a NUL character is invalid input (422), as
    everywhere."""
    kind = PROBLEM_TYPES.get(slug)
    if kind is None:
        raise NotFound("There is no problem type at this address; GET /problems lists them all.")
    return _answer(request, type_page(kind.slug), ProblemTypeRead.of(kind).model_dump())
