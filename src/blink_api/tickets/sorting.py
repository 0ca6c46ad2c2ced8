"""The orders of the ticket list (`?sort=`), shared by its pages and its CSV export.

Each order is keyset-paginated on its timestamp with the ticket's id as tie-breaker, in the same
direction, so that tickets created or changed in the same microsecond still come once each. The
default order hands out cursors as every other list does; the others mark their cursors with the
order, and a cursor is only taken back under the order it was handed out for.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import BindParameter, ColumnElement, DateTime, cast, func, literal_column, tuple_

from blink_api.kit.errors import Invalid
from blink_api.kit.pagination import PageParams
from blink_api.tickets.models import Ticket

TicketSort = Literal[
    "-created_at", "created_at", "-updated_at", "updated_at", "due_date", "-due_date", "-priority", "priority"
]
DEFAULT_SORT: TicketSort = "-created_at"

SORT_DESCRIPTION = (
    "The order of the list (and of the CSV export). `-created_at`: newest first; `created_at`: oldest "
    "first; `-updated_at`: most recently changed first; `updated_at`: longest unchanged first; "
    "`due_date`: soonest due first, tickets without a due date last; `-due_date`: those without a due "
    "date first, then the latest due; `-priority`: `urgent` first, then `high`, `normal` and `low`, "
    "newest first within a priority; `priority`: `low` first, oldest first within a priority. Ties "
    "are broken by the ticket's id. A `cursor` only continues the order it was handed out for (422 "
    "otherwise). Under `updated_at`, a ticket changed while you page moves in the order: it may be "
    "met twice, or not at all."
)


# A due date as the instant its day starts (UTC), no due date as the last instant cursors can hold, so
# that every order pages on a timestamp that is never null. Written as the migration's indexes write it
# (constants, no parameters), so that PostgreSQL finds the order in them.
DUE_KEY: ColumnElement[Any] = func.coalesce(
    func.timezone(literal_column("'UTC'"), cast(Ticket.due_date, DateTime())),
    literal_column("'9999-12-30 23:59:59+00'::timestamptz"),
)
"""The due date as the list orders it: see the migration adding the `due_date` order's indexes."""


SORT_KEY = "sort_key"
"""What the list's rows call the value of the order's key (the cursor is made of it and the id)."""


def sort_key(sort: TicketSort) -> ColumnElement[Any]:
    """The timestamp the order is on."""
    name = sort.removeprefix("-")
    if name == "due_date":
        return DUE_KEY
    if name == "priority":
        # Stored with the ticket: its creation time moved by 2,000 years per step of priority.
        return Ticket.priority_key
    return getattr(Ticket, name)


def _descending(sort: TicketSort) -> bool:
    return sort.startswith("-")


def order_by(sort: TicketSort) -> list[ColumnElement[Any]]:
    key = sort_key(sort)
    if _descending(sort):
        return [key.desc(), Ticket.id.desc()]
    return [key.asc(), Ticket.id.asc()]


def after(sort: TicketSort, value: BindParameter[Any], id_: BindParameter[Any]) -> ColumnElement[bool]:
    """The tickets that come after the one at (`value`, `id_`) in the order."""
    key = tuple_(sort_key(sort), Ticket.id)
    return key < tuple_(value, id_) if _descending(sort) else key > tuple_(value, id_)


def cursor_tag(sort: TicketSort) -> str | None:
    """What a cursor handed out under `sort` carries of it: nothing for the default order, so that
    its cursors read as those of every other list (and those handed out before `sort` existed)."""
    return None if sort == DEFAULT_SORT else sort


def check_cursor(page: PageParams, sort: TicketSort) -> None:
    """422 when the page's cursor was handed out under another order than `sort`."""
    if page.cursor is not None and page.cursor_order != cursor_tag(sort):
        made_for = page.cursor_order or DEFAULT_SORT
        raise Invalid.at(
            ["query", "cursor"],
            f"This cursor continues the list sorted by `{made_for}`, not by `{sort}`: "
            "send the same `sort` as for the page it came with.",
        )
