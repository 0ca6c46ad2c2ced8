"""Problem `type`s lead somewhere: every problem the API answers names a registered type, and
`GET /problems/<slug>` answers a page saying what it means, for browsers (HTML) and programs (JSON).

Followed from real problems the API answers, walked over the registry and over the source (no type
is built by hand), and tried from the hostile side (slugs that are paths, markup, very long).
"""

from __future__ import annotations

import ast
import html
import re
import uuid
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from blink_api.kit import errors
from blink_api.kit.errors import AppError, problem_response
from blink_api.kit.problem_types import PROBLEM_TYPES, TYPE_PREFIX
from tests.kit import API, PROBLEM, assert_problem, new_ticket

SOURCE = Path(__file__).resolve().parent.parent / "src" / "blink_api"
JSON = {"Accept": "application/json"}


class _Page(HTMLParser):
    """The parts of a page a reader sees first: <title>, <h1>, the links, and all text."""

    def __init__(self) -> None:
        super().__init__()
        self.title = self.h1 = ""
        self.links: list[str] = []
        self.text: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("title", "h1"):
            self._in = tag
        if tag == "a":
            self.links += [value or "" for name, value in attrs if name == "href"]

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.h1 += data


def page(r: httpx.Response) -> _Page:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
    parsed = _Page()
    parsed.feed(r.text)
    return parsed


async def follow(client: httpx.AsyncClient, problem: dict[str, Any]) -> _Page:
    """The page a problem's `type` leads to, as a browser reaches it (relative to the origin)."""
    assert problem["type"].startswith(TYPE_PREFIX), problem
    shown = page(await client.get(problem["type"], headers={"Accept": "text/html,*/*;q=0.8"}))
    assert shown.h1 == problem["title"], (shown.h1, problem)
    assert problem["title"] in shown.title and str(problem["status"]) in shown.title
    as_json = await client.get(problem["type"], headers=JSON)
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    described = as_json.json()
    assert (described["type"], described["title"], described["status"]) == (
        problem["type"],
        problem["title"],
        problem["status"],
    )
    return shown


# -- following real problems -----------------------------------------------------------------------


async def test_the_type_of_a_missing_ticket_leads_to_its_page(client, world):
    r = await client.get(f"{API}/tickets/{uuid.uuid4()}", headers=world.employee_a.headers)
    shown = await follow(client, assert_problem(r, 404))
    assert "outside the caller's scope" in " ".join(shown.text)


async def test_the_type_of_a_validation_error_leads_to_a_page_explaining_errors(client, world):
    r = await client.post(f"{API}/tickets", headers=world.employee_a.headers, json={"title": ""})
    problem = assert_problem(r, 422, loc=["body", "site_id"])
    text = " ".join((await follow(client, problem)).text)
    for word in ("errors", "loc", "msg", "type"):
        assert word in text


async def test_the_types_of_refused_credentials_and_bodies_lead_to_their_pages(client, world):
    anonymous = assert_problem(await client.get(f"{API}/tickets"), 401)
    await follow(client, anonymous)
    wrong_type = await client.post(
        f"{API}/tickets",
        headers={**world.employee_a.headers, "Content-Type": "text/plain"},
        content=b'{"title": "x"}',
    )
    await follow(client, assert_problem(wrong_type, 415))
    unrouted = assert_problem(await client.get(f"{API}/no-such-thing"), 404)
    await follow(client, unrouted)
    wrong_method = assert_problem(await client.put(f"{API}/me", headers=world.employee_a.headers), 405)
    assert "Allow" in " ".join((await follow(client, wrong_method)).text)


async def test_the_type_of_a_stale_if_match_leads_to_reload_and_retry(client, world):
    ticket = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    r = await client.patch(
        f"{API}/tickets/{ticket['id']}",
        headers={**world.employee_a.headers, "If-Match": '"stale"'},
        json={"title": "Neu"},
    )
    text = " ".join((await follow(client, assert_problem(r, 412))).text)
    assert "Read the resource again" in text


async def test_the_type_of_a_missing_token_scope_leads_to_the_forbidden_page(client, world):
    r = await client.post(
        f"{API}/api-tokens",
        headers=world.employee_a.headers,
        json={"name": "BI export", "scopes": ["tickets:read"]},
    )
    assert r.status_code == 201, r.text
    token = {"Authorization": f"Bearer {r.json()['token']}"}
    body = {"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "x"}
    refused = assert_problem(await client.post(f"{API}/tickets", headers=token, json=body), 403)
    assert "tickets:write" in refused["detail"]
    assert "scope" in " ".join((await follow(client, refused)).text)


async def test_the_type_of_a_login_throttle_says_to_wait_retry_after(client):
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.test"
    for _ in range(20):
        r = await client.post(f"{API}/auth/token", data={"username": email, "password": "wrong password!"})
        if r.status_code == 429:
            break
        assert r.status_code == 401, r.text
    problem = assert_problem(r, 429)
    assert r.headers["retry-after"].isdigit()
    assert "Retry-After" in " ".join((await follow(client, problem)).text)


# -- the registry and the pages --------------------------------------------------------------------


async def test_every_registered_type_serves_a_page_and_is_in_the_index(client):
    index = await client.get("/problems")
    listed = page(index).links
    as_json = (await client.get("/problems", headers=JSON)).json()
    assert as_json["next_cursor"] is None
    assert [item["slug"] for item in as_json["items"]] == sorted(
        PROBLEM_TYPES, key=lambda s: (PROBLEM_TYPES[s].status, s)
    )
    for slug, kind in PROBLEM_TYPES.items():
        assert kind.uri in listed
        shown = page(await client.get(kind.uri))
        assert shown.h1 == kind.title
        text = " ".join(shown.text)
        assert "When it happens" in text and "What to do" in text and str(kind.status) in text
        described = (await client.get(kind.uri, headers=JSON)).json()
        assert described == {
            "slug": slug,
            "type": f"/problems/{slug}",
            "title": kind.title,
            "status": kind.status,
            "description": kind.when,
            "what_to_do": kind.then,
        }
        assert len(kind.when) > 80 and len(kind.then) > 40, slug


async def test_the_pages_are_public_and_ignore_credentials(client, world):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, world.customer_user_x.headers):
        assert (await client.get("/problems/conflict", headers=headers)).status_code == 200


@pytest.mark.parametrize(
    ("accept", "json_wanted"),
    [
        (None, False),
        ("*/*", False),
        ("text/html", False),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("application/json", True),
        ("application/json, text/html;q=0.5", True),
        ("text/html;q=0.4, application/*", True),
        ("application/json;q=0.5, text/html", False),
        ("application/json;q=nonsense", False),
        ("image/png", False),
    ],
)
async def test_accept_chooses_html_or_json(client, accept, json_wanted):
    headers = {} if accept is None else {"Accept": accept}
    for path in ("/problems", "/problems/validation-error"):
        r = await client.get(path, headers=headers)
        assert r.status_code == 200
        wanted = "application/json" if json_wanted else "text/html"
        assert r.headers["content-type"].startswith(wanted), (accept, r.headers["content-type"])
        assert "Accept" in r.headers["vary"]


async def test_a_page_runs_nothing_and_loads_nothing(client):
    r = await client.get("/problems/too-many-requests")
    assert "<script" not in r.text and "src=" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in r.headers["content-security-policy"]


# -- the hostile side ------------------------------------------------------------------------------

HOSTILE = [
    "no-such-problem",
    "NOT-FOUND",
    "not-found.html",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "<script>alert(1)</script>",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "a" * 5000,
    "%C3%A4rger",
    "%22onmouseover%3D%22x",
]


@pytest.mark.parametrize("slug", HOSTILE, ids=lambda s: s[:30])
@pytest.mark.parametrize("accept", ["text/html", "application/json"])
async def test_an_unknown_slug_is_a_404_problem_that_does_not_repeat_it(client, slug, accept):
    r = await client.get(f"/problems/{slug}", headers={"Accept": accept})
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["type"] == "/problems/not-found" and body["title"] == "Not found"
    # Nothing of the slug comes back as text: `instance` is the path percent-encoded.
    assert "<" not in r.text and ">" not in r.text and '"onmouseover' not in r.text
    assert "\\u0000" not in r.text
    assert "passwd" not in body["detail"] and "script" not in body["detail"]
    await follow(client, body)


async def test_a_path_above_the_problems_is_never_served(client):
    # A client that does not normalise dot segments sends them as they are.
    for raw in (b"/problems/../api/v1/me", b"/problems/..%2Fapi%2Fv1%2Fme"):
        r = await client.request("GET", httpx.URL("http://testserver", raw_path=raw))
        assert r.status_code in (401, 404), r.text
        assert r.headers["content-type"].startswith(PROBLEM)


async def test_a_nul_in_the_slug_is_invalid_input_as_everywhere(client):
    r = await client.get("/problems/a%00b", headers={"Accept": "text/html"})
    problem = assert_problem(r, 422, loc=["path", "slug"])
    assert problem["instance"] == "/problems/a%00b" and "\\u0000" not in r.text
    await follow(client, problem)


@pytest.mark.parametrize("method", ["HEAD", "POST", "PUT", "PATCH", "DELETE"])
async def test_other_methods_are_405_naming_get(client, method):
    for path in ("/problems", "/problems/conflict"):
        r = await client.request(method, path, json={})
        assert r.status_code == 405 and r.headers["allow"] == "GET", r.text
        if method != "HEAD":
            assert assert_problem(r, 405)["type"] == "/problems/method-not-allowed"


# -- no type without a page ------------------------------------------------------------------------


def _error_classes(cls: type[AppError] = AppError) -> list[type[AppError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _error_classes(sub)
    return found


def test_every_error_class_names_a_registered_type_and_takes_its_status_and_title(app):
    classes = _error_classes()
    assert len(classes) >= 11  # the app is imported: every domain's errors are defined
    for cls in classes:
        kind = PROBLEM_TYPES[cls.slug]
        assert (cls.status, cls.title) == (kind.status, kind.title), cls


def test_an_unregistered_slug_cannot_be_answered_or_declared():
    with pytest.raises(LookupError):
        problem_response("teapot", detail="short and stout", instance="/")

    with pytest.raises(LookupError):

        class Teapot(AppError):
            slug = "teapot"


def _calls_named(tree: ast.AST, *names: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) in names or getattr(node.func, "attr", None) in names)
    ]


def test_no_problem_type_is_built_by_hand_in_the_source():
    """Types come from the registry only: no `/problems/` + something pieced together outside it,
    every `/problems/<slug>` the source mentions (examples, descriptions) is registered, and every
    slug passed to `problem_response` or declared on a class is registered."""
    checked = 0
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for slug in re.findall(r"/problems/([A-Za-z0-9_.-]+)", node.value):
                    assert slug in PROBLEM_TYPES, (path, node.value)
            if isinstance(node, ast.JoinedStr) and path.name != "problem_types.py":
                pieces = [v.value for v in node.values if isinstance(v, ast.Constant)]
                assert not [p for p in pieces if p.endswith("/problems/")], (path, ast.unparse(node))
        for call in _calls_named(tree, "problem_response", "_Refusal"):
            first = call.args[0]
            if isinstance(first, ast.Constant):
                assert first.value in PROBLEM_TYPES, (path, first.value)
            else:  # `SomeError.slug`, `kind.slug`, `refusal.slug`
                assert isinstance(first, ast.Attribute) and first.attr == "slug", (path, ast.unparse(first))
            checked += 1
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if (
                        isinstance(statement, ast.Assign)
                        and [getattr(t, "id", None) for t in statement.targets] == ["slug"]
                        and isinstance(statement.value, ast.Constant)
                    ):
                        assert statement.value.value in PROBLEM_TYPES, (path, node.name)
                        checked += 1
    assert checked >= 20


def test_every_problem_the_contract_documents_has_a_type_with_that_status(app):
    statuses = {kind.status for kind in PROBLEM_TYPES.values()}
    for operations in app.openapi()["paths"].values():
        for operation in operations.values():
            for code in operation["responses"]:
                if code.startswith(("4", "5")):
                    assert int(code) in statuses, (operation["operationId"], code)


def test_the_problem_schema_example_validates_and_its_type_has_a_page():
    for example in errors.Problem.model_config["json_schema_extra"]["examples"]:  # type: ignore[index]
        problem = errors.Problem.model_validate(example)
        assert problem.type.removeprefix(TYPE_PREFIX) in PROBLEM_TYPES
        kind = PROBLEM_TYPES[problem.type.removeprefix(TYPE_PREFIX)]
        assert (problem.title, problem.status) == (kind.title, kind.status)
    for example in errors.FieldError.model_config["json_schema_extra"]["examples"]:  # type: ignore[index]
        errors.FieldError.model_validate(example)


def test_registry_text_is_escaped_in_pages():
    from blink_api.system.problems import type_page

    for slug, kind in PROBLEM_TYPES.items():
        assert f"<h1>{html.escape(kind.title)}</h1>" in type_page(slug)
    # Quotes of the texts arrive as text, inside the code they mark.
    shown = type_page("validation-error")
    assert "<code>[&quot;body&quot;, &quot;title&quot;]</code>" in shown and '["body"' not in shown
