"""Statements compiled once for the driver: reads only, given every value on every call; the ticket read
projection declared once."""

from __future__ import annotations

import itertools
import uuid

import pytest
from sqlalchemy import Uuid, bindparam, delete, insert, select, text, union, update

from blink_api.identity.models import Account
from blink_api.kit.compiled import DriverStatement
from blink_api.kit.projection import Nested, Projection
from blink_api.kit.schema import ResponseModel
from blink_api.tickets.filters import LIST_FILTERS
from blink_api.tickets.models import Ticket
from blink_api.tickets.repository import TICKET_READ, ScopeShape, ticket_page_statement
from blink_api.tickets.schemas import TicketRead


def test_a_missing_or_unknown_value_is_refused_rather_than_taken_from_an_earlier_call():
    statement = DriverStatement(
        select(Ticket.id).where(
            Ticket.site_id == bindparam("site_id", type_=Uuid()),
            Ticket.tenant_id == bindparam("tenant_id", type_=Uuid()),
        )
    )
    site, tenant = uuid.uuid4(), uuid.uuid4()
    assert statement.arguments({"site_id": site, "tenant_id": tenant}) == [site, tenant]
    with pytest.raises(ValueError, match="missing \\['tenant_id'\\]"):
        statement.arguments({"site_id": site})
    with pytest.raises(ValueError, match="unknown \\['status'\\]"):
        statement.arguments({"site_id": site, "tenant_id": tenant, "status": "open"})


def test_values_built_into_a_statement_cannot_be_compiled_once():
    with pytest.raises(ValueError, match="named parameter per value"):
        DriverStatement(select(Ticket.id).where(Ticket.tenant_id.in_([uuid.uuid4(), uuid.uuid4()])))


@pytest.mark.parametrize(
    ("shape", "scope"),
    [
        (ScopeShape("all"), set()),
        (ScopeShape("tenants", 1), {"scope_tenant_0"}),
        (ScopeShape("tenants", 3), {"scope_tenant_0", "scope_tenant_1", "scope_tenant_2"}),
        (ScopeShape("customer_user"), {"scope_account_id", "scope_customer_id"}),
    ],
)
def test_every_shape_of_the_ticket_list_takes_exactly_its_own_values(shape, scope):
    for n in (0, 1, 2):
        for filters in itertools.combinations(LIST_FILTERS, n):
            for with_cursor in (False, True):
                statement = ticket_page_statement(shape, frozenset(filters), with_cursor)
                cursor = {"cursor_created_at", "cursor_id"} if with_cursor else set()
                assert statement.names == scope | set(filters) | cursor | {"limit"}


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        (update(Ticket).values(title="x"), "not a SELECT"),
        (delete(Ticket), "not a SELECT"),
        (text("SELECT 1"), "not a SELECT"),
        (select(Ticket.id).with_for_update(), "locks rows"),
        (select(Ticket.id).where(Ticket.id.in_(select(Ticket.id).with_for_update(read=True))), "locks rows"),
        (select(Ticket.id).add_cte(update(Ticket).values(title="x").cte("changed")), "it writes"),
        (select(insert(Ticket).values(title="x").returning(Ticket.id).cte("added")), "it writes"),
        (select(Ticket.id).where(text("true")), "textual SQL"),
    ],
)
def test_a_driver_statement_is_a_read_or_it_is_refused(statement, reason):
    with pytest.raises(ValueError, match=reason):
        DriverStatement(statement)


def test_a_union_of_reads_is_a_read():
    DriverStatement(union(select(Ticket.id), select(Ticket.id)))


def test_the_ticket_read_projection_names_exactly_the_fields_of_ticket_read():
    assert list(TICKET_READ.fields) == list(TicketRead.model_fields)
    TICKET_READ.ensure_fields_of(TicketRead)


class _Creator(ResponseModel):
    kind: str
    id: uuid.UUID


class _Ticket(ResponseModel):
    id: uuid.UUID
    title: str
    created_by: _Creator | None


def test_a_projection_that_differs_from_its_model_is_refused():
    accounts = Account.__table__
    creator = {"kind": accounts.c.kind, "id": accounts.c.id}
    Projection(
        {"id": Ticket.id, "title": Ticket.title, "created_by": Nested(Ticket.created_by, creator)}
    ).ensure_fields_of(_Ticket)
    for fields, message in [
        ({"id": Ticket.id, "created_by": Nested(Ticket.created_by, creator)}, "has \\['id', 'created_by'\\]"),
        (
            {"title": Ticket.title, "id": Ticket.id, "created_by": Nested(Ticket.created_by, creator)},
            "_Ticket",
        ),
        (
            {
                "id": Ticket.id,
                "title": Nested(Ticket.created_by, creator),
                "created_by": Nested(Ticket.created_by, creator),
            },
            "not a model",
        ),
        (
            {
                "id": Ticket.id,
                "title": Ticket.title,
                "created_by": Nested(Ticket.created_by, {"id": accounts.c.id}),
            },
            "_Creator",
        ),
    ]:
        with pytest.raises(TypeError, match=message):
            Projection(fields).ensure_fields_of(_Ticket)
