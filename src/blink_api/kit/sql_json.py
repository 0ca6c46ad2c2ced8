"""JSON built by PostgreSQL, byte for byte what the API's pydantic models would write."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Text, cast, func, literal_column


def sql_string(value: str) -> ColumnElement[str]:
    """A string constant written into the SQL (not a parameter), for the fixed parts of a statement."""
    return literal_column("'" + value.replace("'", "''") + "'", Text)


def json_timestamp(column: ColumnElement[Any]) -> ColumnElement[str]:
    """A timestamptz as the JSON string pydantic writes: UTC with `Z`, microseconds only when there are
    any (all six digits then). One `to_char` per value, the dear part, and a text replace for whole
    seconds. In a to_char pattern `\"` is a literal double quote."""
    pattern = sql_string('\\"YYYY-MM-DD"T"HH24:MI:SS.US"Z"\\"')
    text_ = func.to_char(func.timezone(sql_string("UTC"), column), pattern)
    return func.replace(text_, sql_string('.000000Z"'), sql_string('Z"'))


class JsonText:
    """A JSON fragment already encoded (a nested `json_object`), embedded as it is."""

    def __init__(self, expression: ColumnElement[str]) -> None:
        self.expression = expression


def json_object(fields: Mapping[str, ColumnElement[Any] | JsonText]) -> ColumnElement[str]:
    """Compact JSON text of an object with these keys, in this order (no spaces, as pydantic writes)."""
    parts: list[ColumnElement[Any]] = []
    for index, (key, value) in enumerate(fields.items()):
        parts.append(sql_string(("{" if index == 0 else ",") + json.dumps(key) + ":"))
        if isinstance(value, JsonText):
            encoded = value.expression
        elif isinstance(value.type, DateTime):
            encoded = json_timestamp(value)
        else:
            # Strings escaped as JSON, uuids and dates as strings, booleans and numbers bare.
            encoded = cast(func.to_json(value), Text)
        parts.append(func.coalesce(encoded, sql_string("null")))
    parts.append(sql_string("}"))
    return func.concat(*parts)
