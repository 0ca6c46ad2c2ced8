"""Field types shared by the request and response bodies of every domain, and the rules every piece of
client input obeys wherever it arrives (body, query, path or form): text PostgreSQL can store, finite
numbers, dates both Python and PostgreSQL can hold, and no coercion the schema does not promise."""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import email_validator
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Strict,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

# Self-hosted installations use internal domains (firma.local) and test setups *.test addresses;
# both are reserved names email-validator refuses by default. Its documented switch: drop them
# from the special-use list. Syntax is still checked.
for _domain in ("local", "test"):
    if _domain in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_domain)


# -- text ------------------------------------------------------------------------------------------


def text_problem(value: str) -> str | None:
    """Why PostgreSQL could not store `value` (a NUL, or a lone surrogate that is no UTF-8), or None."""
    if "\x00" in value:
        return "Text cannot contain the NUL character."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Text must be valid Unicode (no lone surrogates)."
    return None


def _storable_text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise PydanticCustomError("text_unstorable", problem)
    return value


def _storable(value: Any) -> Iterator[tuple[tuple[str | int, ...], str, str, Any]]:
    """Every place in a decoded JSON value that could not be stored: (path, type, message, input)."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield (), "text_unstorable", problem, value
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield (), "finite_number", "Numbers must be finite (no NaN or Infinity).", str(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            key_problem = text_problem(key) if isinstance(key, str) else None
            if key_problem:
                yield (key,), "text_unstorable", f"Key: {key_problem}", key
            for path, kind, message, found in _storable(item):
                yield (key, *path), kind, message, found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            for path, kind, message, found in _storable(item):
                yield (index, *path), kind, message, found


# Text arriving outside a body (query, path or form fields): refused like text inside a body.
Text = Annotated[str, AfterValidator(_storable_text)]


def _trimmer(min_length: int) -> Callable[[str], str]:
    def trim(value: str) -> str:
        value = value.strip()
        if len(value) < min_length:
            raise PydanticCustomError("string_blank", "Text must not be blank.")
        return value

    return trim


def trimmed(*, max_length: int, min_length: int = 0) -> Any:
    """Text stored without the white space around it. The length bounds apply to the text as sent, as
    the schema's `minLength`/`maxLength` say, so the API refuses exactly what the schema refuses (and
    text that is blank once trimmed besides)."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length or None, max_length=max_length),
        AfterValidator(_trimmer(min_length)),
    ]


Name = trimmed(min_length=1, max_length=200)
LongText = Annotated[str, StringConstraints(max_length=20_000)]


# -- dates -----------------------------------------------------------------------------------------

# The dates Python and PostgreSQL both hold, less one day at each end: a time-zone offset (under a
# day) or the day added to an inclusive upper bound then never leaves Python's range.
MIN_DATE = dt.date(1, 1, 2)
MAX_DATE = dt.date(9999, 12, 30)
DATE_RANGE = f"from {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}"

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# RFC 3339 `date-time`: the offset is required; `T`/`Z` may be written in lower case.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})")


def _in_range(day: dt.date) -> None:
    if not MIN_DATE <= day <= MAX_DATE:
        raise PydanticCustomError("date_range", "Dates lie {range}.", {"range": DATE_RANGE})


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        day = value
    elif isinstance(value, str) and _DATE.fullmatch(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_from_datetime_parsing", "Not a calendar date.") from None
    else:
        raise PydanticCustomError("date_type", "Expected a date as YYYY-MM-DD.")
    _in_range(day)
    return day


def parse_day(value: Any) -> dt.date:
    """A date as the API accepts it (YYYY-MM-DD within the range); ValueError otherwise."""
    return _day(value)


def _instant(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        instant = value
    elif isinstance(value, str) and _DATE_TIME.fullmatch(value):
        try:
            instant = dt.datetime.fromisoformat(value.upper().replace(" ", "T"))
        except ValueError:
            raise PydanticCustomError("datetime_from_date_parsing", "Not a valid date-time.") from None
    else:
        raise PydanticCustomError(
            "datetime_type", "Expected an RFC 3339 date-time with offset, e.g. 2025-01-31T08:00:00Z."
        )
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise PydanticCustomError("timezone_aware", "The date-time needs an offset (Z or +hh:mm).")
    _in_range(instant.date())
    return instant


def check_instant(value: dt.datetime) -> dt.datetime:
    """`value` if it is an aware date-time within the range; ValueError otherwise (cursors use it)."""
    return _instant(value)


Day = Annotated[
    dt.date,
    BeforeValidator(_day),
    WithJsonSchema({"type": "string", "format": "date", "description": f"YYYY-MM-DD, {DATE_RANGE}."}),
]
Instant = Annotated[
    dt.datetime,
    BeforeValidator(_instant),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": f"RFC 3339 with offset, {DATE_RANGE}.",
        }
    ),
]

# Bodies are validated strictly (no "1" for 1, no 0 for false); a UUID still arrives as JSON text.
Id = Annotated[uuid.UUID, Strict(False)]


# -- bodies ----------------------------------------------------------------------------------------


class RequestModel(BaseModel):
    """Base of every request body: unknown fields are refused, not silently dropped; values are taken
    as the schema types them (strict: `true`, not `1` or `"yes"`); text PostgreSQL cannot store and
    non-finite numbers are refused wherever they sit, free-form values included."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unstorable(cls, data: Any) -> Any:
        found = [
            InitErrorDetails(type=PydanticCustomError(kind, message), loc=path, input=value)
            for path, kind, message, value in _storable(data)
        ]
        if found:
            raise ValidationError.from_exception_data(cls.__name__, found)
        return data


class ResponseModel(BaseModel):
    """Base of every response body: read from ORM objects or rows by attribute."""

    model_config = ConfigDict(from_attributes=True)
