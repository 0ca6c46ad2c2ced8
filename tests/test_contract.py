"""The API contract: who may call each route, operation ids, and the checked-in OpenAPI document."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.dependencies.models import Dependant

from blink_api.app import api_routes, create_app
from blink_api.contract import OPERATION_ID, SCHEMA_NAME, operation_id
from blink_api.identity.dependencies import get_principal, public
from tests.conftest import make_settings

OPENAPI_FILE = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"

# Routes anyone may call, by name; everything else must depend on an authenticated principal.
PUBLIC_ROUTES = {
    "auth:token",
    "auth:set_password",
    "system:live",
    "system:ready",
    "system:metrics",
    "system:docs",
    "system:docs_asset",
    "public-forms:read",
    "public-forms:submit",
    "problems:list",
    "problems:read",
}


PUBLIC_OPERATIONS = {operation_id(name) for name in PUBLIC_ROUTES}


def _calls(dependant: Dependant) -> set[object]:
    found = {dependant.call}
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def test_every_route_declares_who_may_call_it(app):
    routes = api_routes(app)
    assert len(routes) > 30  # the walk must reach into included routers
    undeclared, wrongly_public, wrongly_private = [], [], []
    for route in routes:
        calls = _calls(route.dependant)
        authenticated, is_public = get_principal in calls, public in calls
        if not authenticated and not is_public:
            undeclared.append(route.name)
        if is_public and route.name not in PUBLIC_ROUTES:
            wrongly_public.append(route.name)
        if route.name in PUBLIC_ROUTES and not is_public:
            wrongly_private.append(route.name)
    assert not undeclared, f"routes without an authentication dependency: {undeclared}"
    assert not wrongly_public, f"routes marked public but not listed as public: {wrongly_public}"
    assert not wrongly_private, f"listed as public but not marked so: {wrongly_private}"


def test_operation_ids_are_domain_action_and_unique(app):
    names = [r.name for r in api_routes(app) if r.include_in_schema]
    assert len(names) > 30
    assert len(names) == len(set(names))
    for route in api_routes(app):
        domain, _, action = route.name.partition(":")
        assert action and [domain] == list(route.tags), f"{route.name} is not '<tag>:<action>'"


def test_every_operation_documents_its_problem_answers(app):
    document = app.openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert operation["operationId"], (method, path)
            assert operation.get("tags"), (method, path)
            problems = {code for code in responses if code.startswith(("4", "5"))}
            if path.startswith("/api/v1/") and operation["operationId"] not in PUBLIC_OPERATIONS:
                assert "401" in problems, f"{method} {path} does not document 401"
            if operation.get("parameters") or operation.get("requestBody"):
                assert "422" in problems, f"{method} {path} does not document 422"
            for code in problems:
                content = responses[code].get("content", {})
                assert "application/problem+json" in content, f"{method} {path} {code}"


def test_no_separate_input_and_output_schemas(app):
    schemas = app.openapi()["components"]["schemas"]
    split = [name for name in schemas if name.endswith(("-Input", "-Output"))]
    assert not split


def test_every_operation_is_in_a_documented_section(app):
    document = app.openapi()
    sections = [tag["name"] for tag in document["tags"]]
    used = {tag for item in document["paths"].values() for op in item.values() for tag in op["tags"]}
    assert used == set(sections), (sorted(used - set(sections)), sorted(set(sections) - used))
    assert len(sections) == len(set(sections))
    assert all(tag["description"] for tag in document["tags"])


def test_no_two_routes_share_a_method_and_path(app):
    # The routers are included in the order of their traffic, which is harmless only while no
    # path of one router could also be claimed by another.
    seen = [(method, rc.path) for rc in api_routes(app) for method in rc.original_route.methods]
    assert len(seen) == len(set(seen))


def test_checked_in_openapi_document_matches_the_served_one(tmp_path, database_url):
    # Built exactly as `make openapi` builds it; regenerate with `make openapi` when this fails.
    served = create_app(make_settings(tmp_path, database_url)).openapi()
    checked_in = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    assert checked_in == served, "openapi/openapi.json is stale: run `make openapi`"


async def test_openapi_json_is_served(client):
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    assert r.json()["info"]["title"] == "Blink API"
    security = r.json()["components"]["securitySchemes"]
    assert any(
        s.get("flows", {}).get("password", {}).get("tokenUrl") == "/api/v1/auth/token"
        for s in security.values()
    )


@pytest.mark.parametrize("field", ["items", "next_cursor"])
def test_every_list_answers_a_page(app, field):
    document = app.openapi()
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        operation = operations.get("get")
        if not operation or not operation["operationId"].endswith("_list"):
            continue
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert field in schemas[ref.rsplit("/", 1)[1]]["properties"], path


def _all_operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_operation_ids_and_schema_names_follow_one_naming_rule(app):
    # Generated clients name functions after operation ids and classes after schemas: a name outside
    # the rule comes out as `ticketscreate` or `BodyAuthtoken`.
    document = app.openapi()
    ids = [operation["operationId"] for _, _, operation in _all_operations(document)]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not OPERATION_ID.fullmatch(i)] == []
    assert {operation_id(route.name) for route in api_routes(app) if route.include_in_schema} == set(ids)
    schemas = document["components"]["schemas"]
    assert [name for name in schemas if not SCHEMA_NAME.fullmatch(name)] == []
    assert [name for name, schema in schemas.items() if schema.get("title", name) != name] == []
    assert "TicketReadPage" in schemas and "LoginForm" in schemas and "AttachmentUpload" in schemas


def test_every_reference_resolves(app):
    document = app.openapi()
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(document)))
    assert refs and refs <= set(document["components"]["schemas"])


def test_public_operations_say_so_and_others_name_their_schemes(app):
    document = app.openapi()
    for path, method, operation in _all_operations(document):
        if operation["operationId"] in PUBLIC_OPERATIONS:
            assert operation["security"] == [], (method, path)
        else:
            assert operation["security"], (method, path)
    assert document["servers"] and document["info"]["license"]["identifier"] == "AGPL-3.0-or-later"
    assert document["info"]["contact"]["name"]


def test_file_parts_are_binary_strings(app):
    schemas = app.openapi()["components"]["schemas"]
    for name in ("AttachmentUpload", "UploadForm"):
        files = schemas[name]["properties"]["files"]
        assert files["items"] == {"type": "string", "format": "binary"}, name


def test_query_parameters_are_never_null(app):
    for path, method, operation in _all_operations(app.openapi()):
        for parameter in operation.get("parameters", []):
            assert "null" not in json.dumps(parameter["schema"]), (method, path, parameter["name"])


def test_request_fields_with_a_default_are_optional_and_say_their_default(app):
    document = app.openapi()
    comment = document["components"]["schemas"]["CommentCreate"]
    assert "internal" not in comment["required"] and "default" not in comment["properties"]["internal"]
    assert comment["properties"]["internal"]["description"].endswith("Default: `false`.")
    login = document["components"]["schemas"]["LoginForm"]["properties"]
    assert not any("default" in field for field in login.values())


def test_retry_and_replay_headers_are_documented(app):
    document = app.openapi()
    for path, method, operation in _all_operations(document):
        for status in ("429", "503"):
            if status in operation["responses"]:
                assert "Retry-After" in operation["responses"][status]["headers"], (method, path, status)
        if path.startswith("/api/v1/"):
            assert "503" in operation["responses"], (method, path)
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", [])):
            created = operation["responses"]["201"]
            assert "Idempotent-Replayed" in created["headers"], (method, path)


def test_downloads_list_the_type_generators_read_as_bytes_first(app):
    # openapi-python-client drops a response it has no reader for (`application/pdf`) and reads the
    # first type it knows; for an attachment that was `text/csv`, which breaks on a picture.
    document = app.openapi()
    downloads = 0
    for path, method, operation in _all_operations(document):
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            if any(media.get("schema", {}).get("format") == "binary" for media in content.values()):
                downloads += 1
                assert next(iter(content)) == "application/octet-stream", (method, path, status)
    pdf = document["paths"]["/api/v1/form-submissions/{submission_id}/pdf"]["get"]["responses"]["200"]
    assert list(pdf["content"]) == ["application/octet-stream", "application/pdf"]
    assert downloads >= 2


def test_enum_members_get_names_generators_can_use(app):
    # Without names of their own the generated Python client spelt `tickets:read` as `TICKETSREAD`.
    scopes = app.openapi()["components"]["schemas"]["ApiTokenCreate"]["properties"]["scopes"]["items"]
    names = dict(zip(scopes["enum"], scopes["x-enum-varnames"], strict=True))
    assert names["tickets:read"] == "TICKETS_READ" and names["master-data:write"] == "MASTER_DATA_WRITE"
    status = app.openapi()["components"]["schemas"]["TicketRead"]["properties"]["status"]
    assert "x-enum-varnames" not in status  # `in_progress` already names itself
