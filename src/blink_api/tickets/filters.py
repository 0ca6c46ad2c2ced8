"""The filters of the ticket list, each declared once: its query parameter and its condition on tickets.

The list endpoint takes the query parameters (`with_list_filters`), the repository compiles the
conditions of the filters given into the list's statement (`repository.ticket_page_statement`).
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Query
from sqlalchemy import BindParameter, ColumnElement, DateTime, String, Text, Uuid, bindparam, func, or_
from sqlalchemy.types import TypeEngine

from blink_api.kit.schema import Instant
from blink_api.kit.schema import Text as Words
from blink_api.kit.sql_json import sql_string
from blink_api.tickets.models import Ticket
from blink_api.tickets.schemas import PRIORITY_VALUES, STATUS_VALUES, Priority, Status

T = TypeVar("T")

# The condition on a ticket, given the filter's value as a parameter of the statement and whether the
# caller sees internal notes (`identity.scope.sees_internal_notes`).
Condition = Callable[[BindParameter[Any], bool], ColumnElement[bool]]


@dataclass(frozen=True, slots=True)
class ListFilter:
    """One filter: `?name=` of type `type_` (with `query`'s description and bounds), its value's type
    in the statement, and its condition.

    `clean` turns what was sent into the value filtered by; None means "no filter".
    """

    name: str
    type_: Any
    sql_type: TypeEngine[Any]
    condition: Condition
    query: Any = field(default_factory=Query)
    clean: Callable[[Any], Any] = lambda value: value

    def where(self, sees_internal: bool) -> ColumnElement[bool]:
        """The condition, on a parameter named like the filter that every execution must fill."""
        return self.condition(bindparam(self.name, type_=self.sql_type), sees_internal)

    def parameter(self) -> inspect.Parameter:
        """The query parameter, optional, as the endpoint declares it."""
        return inspect.Parameter(
            self.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[self.type_ | None, self.query],
        )


def _full_text(words: BindParameter[Any], sees_internal: bool) -> ColumnElement[bool]:
    query = func.websearch_to_tsquery(sql_string("german"), words)
    condition = Ticket.search_public.op("@@")(query)
    if sees_internal:
        # A customer's search must not reveal internal notes.
        condition = or_(condition, Ticket.search_internal.op("@@")(query))
    return condition


def _words(text: str | None) -> str | None:
    """Blank searches search nothing."""
    return text.strip() if text and text.strip() else None


LIST_FILTERS: Mapping[str, ListFilter] = {
    f.name: f
    for f in (
        ListFilter(
            "site_id",
            uuid.UUID,
            Uuid(),
            lambda site_id, _: Ticket.site_id == site_id,
            Query(description="Only tickets of this site."),
        ),
        ListFilter(
            "status",
            Status,
            String(),
            lambda status, _: Ticket.status == status,
            Query(description=f"Only tickets in this status. {STATUS_VALUES}"),
        ),
        ListFilter(
            "priority",
            Priority,
            String(),
            lambda priority, _: Ticket.priority == priority,
            Query(description=f"Only tickets of this priority. {PRIORITY_VALUES}"),
        ),
        ListFilter(
            "ticket_type_id",
            uuid.UUID,
            Uuid(),
            lambda type_id, _: Ticket.ticket_type_id == type_id,
            Query(description="Only tickets of this ticket type."),
        ),
        ListFilter(
            "assignee_id",
            uuid.UUID,
            Uuid(),
            lambda assignee_id, _: Ticket.assignee_id == assignee_id,
            Query(description="Only tickets assigned to this employee."),
        ),
        ListFilter(
            "q",
            Words,
            Text(),
            _full_text,
            Query(
                max_length=500,
                description="Full text over title, description and comments (German stemming).",
            ),
            clean=_words,
        ),
        ListFilter(
            "created_from",
            Instant,
            DateTime(timezone=True),
            lambda instant, _: Ticket.created_at >= instant,
            Query(description="Created at or after this instant."),
        ),
        ListFilter(
            "created_to",
            Instant,
            DateTime(timezone=True),
            lambda instant, _: Ticket.created_at <= instant,
            Query(description="Created at or before this instant."),
        ),
    )
}
"""In the order of the query parameters in OpenAPI."""


def given_filters(sent: Mapping[str, Any]) -> dict[str, Any]:
    """The filters given, by name, with their cleaned values (those sent as None are not given)."""
    cleaned = {name: LIST_FILTERS[name].clean(value) for name, value in sent.items() if value is not None}
    return {name: value for name, value in cleaned.items() if value is not None}


def with_list_filters(endpoint: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """`endpoint` taking the filters' query parameters (after its own, in their order); it receives
    the filters given as `filters` (`given_filters`).

    The parameters become the endpoint's own rather than a dependency's, so that OpenAPI lists them
    before the page's (`limit`, `cursor`) and FastAPI reports invalid ones after the page's.
    """
    signature = inspect.signature(endpoint, eval_str=True)
    own = [parameter for name, parameter in signature.parameters.items() if name != "filters"]

    @functools.wraps(endpoint)
    async def filtered(**arguments: Any) -> T:
        sent = {name: arguments.pop(name) for name in LIST_FILTERS}
        return await endpoint(**arguments, filters=given_filters(sent))

    filtered.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*own, *(f.parameter() for f in LIST_FILTERS.values())]
    )
    return filtered
