"""A response model's fields declared once, each with the column it is read from.

From one declaration come the JSON that PostgreSQL writes for a row (`Projection.json`), the values
read from an ORM object (`Projection.values`) and the check that the declaration and the model name
the same fields in the same order (`Projection.ensure_fields_of`).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Union

from pydantic import BaseModel
from sqlalchemy import Column, ColumnElement, case, null
from sqlalchemy.orm import QueryableAttribute

from blink_api.kit.sql_json import JsonText, json_object

# A mapped attribute (`Ticket.title`) or a table's column (`accounts.c.name`): something that is both
# an SQL expression and, under its `key`, an attribute of the ORM object.
ColumnField = QueryableAttribute[Any] | Column[Any]


class Nested:
    """An object-valued field: fields of the row that `relationship` leads to (None when there is none).

    The statement that reads the projection joins that row; its columns are the nested fields'. Where
    the row may be missing (an outer join), `present` is a column of it that is never null in a row
    that exists: the field is then null instead of an object of nulls.
    """

    def __init__(
        self,
        relationship: QueryableAttribute[Any],
        fields: Mapping[str, ColumnField],
        *,
        present: ColumnField | None = None,
    ) -> None:
        self.relationship = relationship
        self.projection = Projection(fields)
        self.present = present

    def json(self) -> ColumnElement[str]:
        encoded = self.projection.json()
        if self.present is None:
            return encoded
        # NULL here is written as JSON `null` by the enclosing object.
        return case((self.present.is_(None), null()), else_=encoded)


class Derived:
    """A field worked out from the row rather than read from one column: `json` is its JSON text as
    PostgreSQL writes it (null for none), `value` the same value from an ORM object."""

    def __init__(self, json: ColumnElement[str], value: Callable[[Any], Any]) -> None:
        self.expression = json
        self.value = value

    def json(self) -> ColumnElement[str]:
        return self.expression


class Projection:
    """The fields of a response body, in the body's order: name → column, or a `Nested` object."""

    def __init__(self, fields: Mapping[str, ColumnField | Nested | Derived]) -> None:
        self.fields = dict(fields)

    def json(self) -> ColumnElement[str]:
        """The body as JSON text written by PostgreSQL, byte for byte what pydantic writes (`sql_json`)."""
        return json_object(
            {
                name: JsonText(field.json()) if isinstance(field, Nested | Derived) else field
                for name, field in self.fields.items()
            }
        )

    def values(self, obj: Any) -> dict[str, Any]:
        """The body's values from an ORM object (nested objects as dicts), for the response model."""
        values: dict[str, Any] = {}
        for name, field in self.fields.items():
            if isinstance(field, Derived):
                values[name] = field.value(obj)
            elif isinstance(field, Nested):
                related = getattr(obj, field.relationship.key)
                values[name] = None if related is None else field.projection.values(related)
            else:
                values[name] = getattr(obj, field.key)
        return values

    def ensure_fields_of(self, model: type[BaseModel]) -> None:
        """Raises unless `model` has exactly these fields, in this order (nested models likewise)."""
        declared, modelled = list(self.fields), list(model.model_fields)
        if declared != modelled:
            raise TypeError(f"the projection of {model.__name__} has {declared}, the model {modelled}")
        for name, field in self.fields.items():
            if isinstance(field, Nested):
                nested = _model_in(model.model_fields[name].annotation)
                if nested is None:
                    raise TypeError(f"{model.__name__}.{name} is not a model, but its projection is nested")
                field.projection.ensure_fields_of(nested)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation names, alone or with None (`Creator`, `Creator | None`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (Union, types.UnionType):
        models = [m for m in map(_model_in, typing.get_args(annotation)) if m is not None]
        return models[0] if len(models) == 1 else None
    return None
