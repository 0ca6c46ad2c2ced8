"""The OpenAPI document as integrators and their generated clients read it.

FastAPI builds the document from the routes; this module shapes what FastAPI cannot know or says in a
way generators turn into awkward code:

- operation ids and schema names follow one rule (`OPERATION_ID`, `SCHEMA_NAME`) so that generated
  functions and classes read like hand-written ones (`tickets_create`, `TicketReadPage`);
- what an API token needs for each operation, and who may call without credentials (`security: []`);
- file parts of multipart bodies are binary strings, which is what generators upload as files;
- enum members get names generators can use as they are (`TICKETS_READ` for `tickets:read`);
- a query parameter is either sent or not: it is never `null`, so its schema offers no `null`;
- a request field with a default is optional for the caller: the default moves into the field's
  description, where generators cannot mistake it for "always present";
- the headers integrators rely on (`Retry-After`, `Idempotent-Replayed`) and the problem answers every
  operation can give (503 while the database cannot serve);
- where the API is served, whom to ask and under which licence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from fastapi.openapi.utils import get_openapi
from fastapi.routing import RouteContext
from pydantic import BaseModel

from blink_api.identity.dependencies import API_TOKEN_SCHEME, token_scopes_of
from blink_api.kit.errors import FieldError, Problem, problem_responses
from blink_api.kit.ratelimit import retry_after_responses
from blink_api.tickets.schemas import TicketCreate

# `tickets_create`, `form_submissions_pdf`: the route's `domain:action` name in snake case.
OPERATION_ID = re.compile(r"^[a-z]+(?:_[a-z]+)*$")
# `TicketRead`, `TicketReadPage`, `LoginForm`: PascalCase, letters and digits only.
SCHEMA_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")

# The bodies FastAPI names after their operation (`Body_<operation id>`), by what they are, with what
# FastAPI cannot say of a body made of form parameters: what it is, and an example.
BODY_NAMES = {
    "auth_token": "LoginForm",
    "tickets_create_attachments": "AttachmentUpload",
    "attachments_replace_content": "AttachmentReplacement",
    "uploads_create": "UploadForm",
}
_FILES_EXAMPLE = {"files": ["(the bytes of Treppenhaus-EG.jpg)", "(the bytes of Mängelprotokoll.pdf)"]}
BODY_DOCS = {
    "LoginForm": (
        "The OAuth2 password form (`application/x-www-form-urlencoded`).",
        {"grant_type": "password", "username": "jana.petersen@example.com", "password": "Hafenkante-2026!"},
    ),
    "AttachmentUpload": (
        "Files to attach to the ticket, as `multipart/form-data` parts named `files`.",
        _FILES_EXAMPLE,
    ),
    "UploadForm": (
        "Files to upload for a form, as `multipart/form-data` parts named `files`.",
        _FILES_EXAMPLE,
    ),
    "AttachmentReplacement": (
        "The new content of an attachment, as exactly one `multipart/form-data` part named `file`.",
        {"file": "(the bytes of Mängelprotokoll-korrigiert.pdf)"},
    ),
}

LICENSE = {"name": "GNU Affero General Public License v3.0 or later", "identifier": "AGPL-3.0-or-later"}
CONTACT = {"name": "Blink API"}
SERVERS = [{"url": "/", "description": "The server this document is served from."}]

# What openapi-python-client drops from an enum value when it names the member after it.
ENUM_SEPARATOR = re.compile(r"[^A-Za-z0-9_. \-]")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REPLAYED_HEADER = {
    "description": "`true` when this is the stored answer to an earlier request with the same "
    "`Idempotency-Key`; nothing was done again.",
    "schema": {"type": "string", "enum": ["true"]},
}


def operation_id(route_name: str) -> str:
    """The operation id of a route named `domain:action`: `form-submissions:pdf` -> `form_submissions_pdf`."""
    return route_name.replace(":", "_").replace("-", "_")


def _operations(document: dict[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def build_document(
    *,
    title: str,
    version: str,
    description: str,
    routes: Any,
    tags: list[dict[str, Any]],
    contexts: list[RouteContext],
) -> dict[str, Any]:
    document = get_openapi(
        title=title,
        version=version,
        description=description,
        routes=routes,
        tags=tags,
        separate_input_output_schemas=False,
    )
    by_id = {operation_id(rc.name): rc for rc in contexts}
    document["info"]["contact"] = CONTACT
    document["info"]["license"] = LICENSE
    document["servers"] = SERVERS
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    # Bodies documented by hand (read from JSON or multipart) still need their schema in components.
    for model in (Problem, FieldError, TicketCreate):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        schemas[model.__name__] = schema
    _examples_with_nulls(schemas)
    _summaries(document, by_id)
    _problems(document)
    _security(document, by_id)
    _rename_schemas(document)
    _binary_files(document)
    _enum_member_names(document)
    _parameters_without_null(document)
    _request_defaults_described(document)
    _replay_header(document)
    return document


def _models(base: type[BaseModel]) -> Iterable[type[BaseModel]]:
    for model in base.__subclasses__():
        yield model
        yield from _models(model)


def _examples_with_nulls(schemas: dict[str, Any]) -> None:
    # FastAPI writes the document without any `null` (exclude_none), the `null`s of examples too, which
    # leaves examples that their own schema refuses (`closed_at` missing where it is required and
    # null). Each model's examples go back in as the model states them.
    for model in _models(BaseModel):
        schema = schemas.get(model.__name__)
        if model.__module__.startswith("blink_api.") and schema is not None and "examples" in schema:
            schema["examples"] = model.model_json_schema()["examples"]


def _summaries(document: dict[str, Any], by_id: dict[str, RouteContext]) -> None:
    # Without a summary of its own an operation is summarised from its endpoint's name
    # ("list_tenants" -> "List tenants"), not FastAPI's default from the operation id ("Tickets List").
    for _, _, operation in _operations(document):
        rc = by_id.get(operation.get("operationId", ""))
        if rc is not None and operation.get("summary") == rc.name.replace("_", " ").title():
            operation["summary"] = rc.endpoint.__name__.replace("_", " ").capitalize()


def _problems(document: dict[str, Any]) -> None:
    unsupported = problem_responses(415)[415]
    unavailable = retry_after_responses(503)[503]
    too_large = problem_responses(413)[413]
    for path, _, operation in _operations(document):
        responses = operation["responses"]
        # Every request's body is bounded before any route reads it (see limits.py).
        responses.setdefault("413", too_large)
        # A JSON body of another media type is refused with 415 (see errors.py) wherever one is read.
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            responses.setdefault("415", unsupported)
        # Every operation of the API may find the database unable to serve: 503 with `Retry-After`.
        if path.startswith("/api/"):
            responses.setdefault("503", unavailable)
        for status in ("429", "503"):
            if status in responses:
                responses[status].setdefault("headers", {}).setdefault(
                    "Retry-After", retry_after_responses(int(status))[int(status)]["headers"]["Retry-After"]
                )


def _security(document: dict[str, Any], by_id: dict[str, RouteContext]) -> None:
    # What an API token needs for each operation: its scope in `x-token-scope` and in the description
    # (an `http` scheme has no scopes a linter would accept), no `APIToken` where tokens are refused,
    # and the 403 a token lacking it gets. An operation anyone may call says so: `security: []`.
    forbidden = problem_responses(403)[403]
    for _, method, operation in _operations(document):
        rc = by_id.get(operation.get("operationId", ""))
        rules = [] if rc is None else list(token_scopes_of(rc.dependant))
        if not rules:
            operation.setdefault("security", [])
            continue
        rule = rules[0]
        needed = rule.needed(method.upper())
        security = [r for r in operation.get("security", []) if API_TOKEN_SCHEME not in r]
        if rule.tokens:
            security.append({API_TOKEN_SCHEME: []})
            if needed:
                operation["x-token-scope"] = needed
                note = f"API tokens need the scope `{needed}`."
                customer = rule.needed(method.upper(), "customer_user")
                if customer != needed:
                    note = f"API tokens need the scope `{needed}` (a customer user's token: `{customer}`)."
            else:
                note = "Any API token of the caller may call it."
        else:
            note = "API tokens are refused: log in with your password."
        operation["security"] = security
        operation["description"] = f"{operation.get('description', '').rstrip()}\n\n{note}".lstrip()
        if needed or not rule.tokens:
            operation["responses"].setdefault("403", forbidden)


def _rename_schemas(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    renames = {}
    for name in schemas:
        if name.startswith("Body_"):
            renames[name] = BODY_NAMES[name.removeprefix("Body_")]
        elif name.startswith("Page_") and name.endswith("_"):
            renames[name] = f"{name.removeprefix('Page_').removesuffix('_')}Page"
    for old, new in renames.items():
        schema = schemas.pop(old)
        schema["title"] = new
        if new in BODY_DOCS:
            schema["description"], example = BODY_DOCS[new]
            schema["examples"] = [example]
        schemas[new] = schema
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    if renames:
        text = json.dumps(document)
        for old, new in renames.items():
            text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
        document.clear()
        document.update(json.loads(text))
    schemas = document["components"]["schemas"]
    for old, new in renames.items():
        if old.startswith("Page_"):
            _describe_page(schemas, new, new.removesuffix("Page"))


def _describe_page(schemas: dict[str, Any], name: str, item: str) -> None:
    page = schemas[name]
    page["description"] = f"One page of `{item}` items; follow `next_cursor` for the next."
    page["properties"]["items"]["description"] = "The items of this page, at most `limit`."
    page["properties"]["next_cursor"]["description"] = (
        "Pass as `cursor` to get the next page; `null` on the last page."
    )
    examples = schemas.get(item, {}).get("examples")
    if examples:
        page["examples"] = [{"items": examples[:1], "next_cursor": "WyIyMDI2LTExLTMwVDA4OjE1OjAwKzAwOjAwIl0"}]


def _binary_files(document: dict[str, Any]) -> None:
    # Generators upload a part as a file when its schema is a binary string; `contentMediaType` alone
    # makes them send text.
    for _, _, operation in _operations(document):
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            ref = media.get("schema", {}).get("$ref", "")
            if media_type.startswith("multipart/") and ref:
                schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
                for prop in schema.get("properties", {}).values():
                    for part in (prop, prop.get("items", {})):
                        if part.get("contentMediaType") == "application/octet-stream":
                            part.pop("contentMediaType")
                            part["format"] = "binary"


def _enum_member_names(document: dict[str, Any]) -> None:
    # openapi-python-client names an enum member after its value in upper case, dropping what is not
    # a letter, digit, space, `_`, `-` or `.`: `tickets:read` became `TICKETSREAD`. `x-enum-varnames` (read
    # by it and by openapi-generator) names each member: every other character becomes `_`.
    def visit(node: Any) -> None:
        if isinstance(node, dict):
            values = node.get("enum")
            if isinstance(values, list) and any(
                isinstance(v, str) and ENUM_SEPARATOR.search(v) for v in values
            ):
                node["x-enum-varnames"] = [
                    re.sub(r"[^A-Za-z0-9]+", "_", str(v)).strip("_").upper() for v in values
                ]
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(document["components"]["schemas"])
    for _, _, operation in _operations(document):
        visit(operation.get("parameters", []))


def _parameters_without_null(document: dict[str, Any]) -> None:
    # The parameter's description is the one readers see: the schema's own (of the non-null branch, or
    # a copy of the parameter's) goes into it once.
    for _, _, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            branches = schema.pop("anyOf", [])
            kept = [b for b in branches if b.get("type") != "null"]
            if branches and len(kept) == 1 and len(branches) == 2:
                schema.update({key: value for key, value in kept[0].items() if key not in schema})
            elif branches:
                schema["anyOf"] = branches
            said = [parameter.get("description", ""), schema.pop("description", "")]
            said += [] if not kept else [kept[0].get("description", "")]
            texts = list(dict.fromkeys(text.strip() for text in said if text and text.strip()))
            if texts:
                parameter["description"] = " ".join(texts)


def _request_defaults_described(document: dict[str, Any]) -> None:
    # openapi-typescript (and others) make a field with a default required, since an answer always has
    # it; a caller may leave it out. The default is said in words instead.
    schemas = document["components"]["schemas"]
    pending = [
        media["schema"]["$ref"].rsplit("/", 1)[1]
        for _, _, operation in _operations(document)
        for media in operation.get("requestBody", {}).get("content", {}).values()
        if "$ref" in media.get("schema", {})
    ]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        schema = schemas[name]
        pending += [ref.rsplit("/", 1)[1] for ref in re.findall(r'"\$ref": "([^"]+)"', json.dumps(schema))]
        for prop in schema.get("properties", {}).values():
            if "default" in prop:
                default = prop.pop("default")
                said = "" if default is None else f" Default: `{json.dumps(default, ensure_ascii=False)}`."
                prop["description"] = f"{prop.get('description', '').rstrip()}{said}".strip()


def _replay_header(document: dict[str, Any]) -> None:
    for _, _, operation in _operations(document):
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", [])):
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    response.setdefault("headers", {})["Idempotent-Replayed"] = REPLAYED_HEADER
