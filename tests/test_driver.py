"""Statements compiled once for the driver must be given every value on every call."""

from __future__ import annotations

import itertools
import uuid

import pytest
from sqlalchemy import Uuid, bindparam, select

from blink_api.kit.compiled import DriverStatement
from blink_api.tickets.models import Ticket
from blink_api.tickets.repository import LIST_FILTERS, ScopeShape, ticket_page_statement


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
