"""The contract teaches: every operation, parameter and schema field says what it is, and every body
has a realistic example that Swagger UI shows instead of `"title": "string"`."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

METHODS = ("get", "post", "put", "patch", "delete")


def _operations(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _body_schema_names(document: dict[str, Any]) -> set[str]:
    """Component schemas that are a request or response body themselves."""
    names = set()
    for _, _, operation in _operations(document):
        contents = [operation.get("requestBody", {}).get("content", {})]
        contents += [response.get("content", {}) for response in operation["responses"].values()]
        for content in contents:
            for media in content.values():
                ref = media.get("schema", {}).get("$ref", "")
                if ref:
                    names.add(ref.rsplit("/", 1)[1])
    return names


def undocumented(document: dict[str, Any]) -> list[str]:
    """What a reader of the contract is left to guess, one line each."""
    missing = []
    for path, method, operation in _operations(document):
        where = f"{method.upper()} {path}"
        if not operation.get("description", "").strip():
            missing.append(f"{where}: operation without a description")
        for parameter in operation.get("parameters", []):
            if not parameter.get("description", "").strip():
                missing.append(f"{where}: parameter {parameter['name']} without a description")
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        if not schema.get("description", "").strip():
            missing.append(f"schema {name} without a description")
        for field, prop in schema.get("properties", {}).items():
            if not prop.get("description", "").strip():
                missing.append(f"schema {name}: field {field} without a description")
            values = prop.get("enum") or [
                v
                for branch in prop.get("anyOf", []) + prop.get("items", {}).get("anyOf", [])
                for v in branch.get("enum", [])
            ]
            unexplained = [v for v in values if f"`{v}`" not in prop.get("description", "")]
            if unexplained:
                missing.append(f"schema {name}: field {field} does not explain {unexplained}")
    for name in sorted(_body_schema_names(document)):
        if not schemas[name].get("examples"):
            missing.append(f"schema {name}: a body without examples")
    return missing


def test_every_operation_parameter_and_field_is_described_and_every_body_has_an_example(app):
    missing = undocumented(app.openapi())
    assert not missing, "\n".join(missing)


def test_every_example_is_valid_against_its_own_schema(app):
    # An example that its schema refuses teaches integrators the wrong thing (and Swagger UI sends it).
    document = app.openapi()
    checked = 0
    for name, schema in document["components"]["schemas"].items():
        validator = Draft202012Validator(
            {"$ref": f"#/components/schemas/{name}", "components": document["components"]},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        for example in schema.get("examples", []):
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(example)]
            assert not errors, (name, errors)
            checked += 1
    assert checked > 40
