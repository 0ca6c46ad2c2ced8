"""The customer view from the customer user's side: its ticket, history and mails show one allow-list."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from blink_api.tickets import customer_view
from blink_api.tickets.models import Ticket
from blink_api.tickets.schemas import TicketRead
from tests.factories import World, make_site, make_ticket_type
from tests.kit import API, new_ticket
from tests.test_notifications import html_part, text_part


async def enable(client, world: World, *types: Any) -> None:
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings",
        headers=world.admin.headers,
        json={"enabled_ticket_type_ids": [str(t.id) for t in types], "document_sources": []},
    )
    assert r.status_code == 200, r.text


async def patch(client, headers, ticket_id: str, **fields: Any) -> dict:
    r = await client.patch(f"{API}/tickets/{ticket_id}", headers=headers, json=fields)
    assert r.status_code == 200, r.text
    return r.json()


async def get(client, headers, path: str, **params: Any) -> Any:
    r = await client.get(f"{API}{path}", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def history(client, headers, ticket_id: str) -> list[dict]:
    return (await get(client, headers, f"/tickets/{ticket_id}/history", limit=200))["items"]


def changes(entries: list[dict], field: str) -> list[tuple[Any, Any]]:
    """The changes of one field, oldest first."""
    return [(e["old_value"], e["new_value"]) for e in reversed(entries) if e["field"] == field]


# -- the ticket and its history agree -----------------------------------------------------------------


async def test_assignee_and_due_date_changes_are_in_the_history_as_the_ticket_shows_them(client, world):
    await enable(client, world, world.type_a)
    cux, emp = world.customer_user_x.headers, world.employee_a.headers
    t = await new_ticket(client, cux, world.site_a1, world.type_a)
    await patch(client, emp, t["id"], assignee_id=str(world.employee_a.id), due_date="2031-02-03")
    await patch(client, emp, t["id"], due_date="2031-03-01")
    await patch(client, emp, t["id"], assignee_id=None)

    ticket = await get(client, cux, f"/tickets/{t['id']}")
    (listed,) = (await get(client, cux, "/tickets"))["items"]
    assert listed == ticket
    entries = await history(client, cux, t["id"])

    # Every value the ticket showed on the way is in the history, and the last one is the ticket's.
    assert changes(entries, "assignee_id") == [
        (None, str(world.employee_a.id)),
        (str(world.employee_a.id), None),
    ]
    assert changes(entries, "due_date") == [(None, "2031-02-03"), ("2031-02-03", "2031-03-01")]
    assert (ticket["assignee_id"], ticket["due_date"]) == (None, "2031-03-01")
    # The employee's view of the same history is the same events, not fewer.
    assert await history(client, emp, t["id"]) == entries


async def test_the_ticket_shows_the_allow_list_exactly(client, world):
    await enable(client, world, world.type_a)
    cux = world.customer_user_x.headers
    t = await new_ticket(client, cux, world.site_a1, world.type_a)

    # A field added to the ticket without a decision about customer users fails here.
    assert set(TicketRead.model_fields) == customer_view.TICKET_FIELDS
    assert set(await get(client, cux, f"/tickets/{t['id']}")) == customer_view.TICKET_FIELDS
    assert set((await get(client, cux, "/tickets"))["items"][0]) == customer_view.TICKET_FIELDS
    # Every field the history may name on an update is one the ticket shows.
    assert customer_view.HISTORY_EVENTS["updated"].fields <= customer_view.TICKET_FIELDS


async def test_assignee_changes_recorded_as_hidden_before_are_shown_too(client, world, database):
    """Rows written while such changes were hidden carry public = false; the allow-list decides now."""
    await enable(client, world, world.type_a)
    cux = world.customer_user_x.headers
    t = await new_ticket(client, cux, world.site_a1, world.type_a)
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO ticket_events (id, ticket_id, event, field, new_value, public)"
                " VALUES (:id, :t, 'updated', 'assignee_id', CAST(:new AS jsonb), false)"
            ),
            {"id": uuid.uuid4(), "t": t["id"], "new": f'"{world.employee_a.id}"'},
        )
    assert changes(await history(client, cux, t["id"]), "assignee_id") == [(None, str(world.employee_a.id))]


# -- ids outside the customer's scope -----------------------------------------------------------------


async def test_type_change_from_a_type_not_enabled_shows_no_id_of_it(client, world, session):
    hidden = await make_ticket_type(session, tenant=world.tenant_a, name="Intern")
    also_hidden = await make_ticket_type(session, tenant=world.tenant_a, name="Nachkalkulation")
    await session.commit()
    await enable(client, world, world.type_a)
    cux, emp = world.customer_user_x.headers, world.employee_a.headers

    t = await new_ticket(client, emp, world.site_a1, hidden, "Kalkulation Dach")
    r = await client.get(f"{API}/tickets/{t['id']}/history", headers=cux)
    assert r.status_code == 404  # not yet the customer's ticket at all
    await patch(client, emp, t["id"], ticket_type_id=str(also_hidden.id))
    await patch(client, emp, t["id"], ticket_type_id=str(world.type_a.id))

    r = await client.get(f"{API}/tickets/{t['id']}/history", headers=cux, params={"limit": 200})
    assert r.status_code == 200, r.text
    for type_id in (hidden.id, also_hidden.id):
        assert str(type_id) not in r.text
    # The change that made it the customer's ticket is shown, its hidden side as null; the change
    # between two hidden types would say nothing and is left out.
    assert changes(r.json()["items"], "ticket_type_id") == [(None, str(world.type_a.id))]

    # Employees see both changes with their ids.
    assert changes(await history(client, emp, t["id"]), "ticket_type_id") == [
        (str(hidden.id), str(also_hidden.id)),
        (str(also_hidden.id), str(world.type_a.id)),
    ]


async def test_site_move_shows_no_id_of_another_customers_site_nor_an_unassigned_one(client, world, session):
    foreign = await make_site(session, tenant=world.tenant_a, customer=world.customer_y, name="Fremd")
    await session.commit()
    await enable(client, world, world.type_a)
    cux, emp = world.customer_user_x.headers, world.employee_a.headers

    t = await new_ticket(client, emp, foreign, world.type_a)
    await patch(client, emp, t["id"], site_id=str(world.site_a2.id))  # customer X's, not assigned to x
    await patch(client, emp, t["id"], site_id=str(world.site_a1.id))

    r = await client.get(f"{API}/tickets/{t['id']}/history", headers=cux, params={"limit": 200})
    assert r.status_code == 200, r.text
    assert str(foreign.id) not in r.text and str(world.site_a2.id) not in r.text
    assert changes(r.json()["items"], "site_id") == [(None, str(world.site_a1.id))]


async def test_hand_made_values_in_scoped_fields_are_not_shown(client, world, database):
    """Whatever an event holds in a scoped field, only ids within the scope pass."""
    await enable(client, world, world.type_a)
    cux = world.customer_user_x.headers
    t = await new_ticket(client, cux, world.site_a1, world.type_a)
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO ticket_events (id, ticket_id, event, field, old_value, new_value, public) VALUES"
                " (:id, :t, 'updated', 'ticket_type_id', CAST(:old AS jsonb), CAST(:new AS jsonb), true)"
            ),
            {
                "id": uuid.uuid4(),
                "t": t["id"],
                "old": '"not-a-uuid"',
                "new": f'{{"id": "{world.type_b.id}"}}',
            },
        )
    r = await client.get(f"{API}/tickets/{t['id']}/history", headers=cux)
    assert r.status_code == 200, r.text
    assert "not-a-uuid" not in r.text and str(world.type_b.id) not in r.text


async def test_pages_of_the_history_add_up_to_the_whole_when_events_are_left_out(client, world, session):
    hidden = [await make_ticket_type(session, tenant=world.tenant_a) for _ in range(3)]
    await session.commit()
    await enable(client, world, world.type_a)
    cux, emp = world.customer_user_x.headers, world.employee_a.headers
    t = await new_ticket(client, emp, world.site_a1, hidden[0])
    for ticket_type in [*hidden[1:], world.type_a]:
        await patch(client, emp, t["id"], ticket_type_id=str(ticket_type.id))
    await patch(client, emp, t["id"], status="in_progress")

    paged: list[dict] = []
    cursor = None
    for _ in range(20):
        page = await get(
            client, cux, f"/tickets/{t['id']}/history", limit=1, **({"cursor": cursor} if cursor else {})
        )
        paged += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert cursor is None
    assert paged == await history(client, cux, t["id"])
    assert [e["field"] for e in paged] == ["status", "ticket_type_id", None]


# -- internal notes and events nobody decided about ---------------------------------------------------


async def test_internal_note_events_are_never_in_the_customers_history(client, world):
    await enable(client, world, world.type_a)
    cux, emp = world.customer_user_x.headers, world.employee_a.headers
    t = await new_ticket(client, cux, world.site_a1, world.type_a)
    r = await client.post(
        f"{API}/tickets/{t['id']}/comments",
        headers=emp,
        json={"body": "Kunde zahlt schlecht", "internal": True},
    )
    assert r.status_code == 201, r.text
    note = r.json()["id"]
    r = await client.patch(f"{API}/tickets/{t['id']}/comments/{note}", headers=emp, json={"body": "Vorkasse"})
    assert r.status_code == 200, r.text
    assert (await client.delete(f"{API}/tickets/{t['id']}/comments/{note}", headers=emp)).status_code == 204
    r = await client.post(f"{API}/tickets/{t['id']}/comments", headers=emp, json={"body": "Termin Montag"})
    assert r.status_code == 201, r.text

    r = await client.get(f"{API}/tickets/{t['id']}/history", headers=cux)
    assert r.status_code == 200, r.text
    assert "zahlt" not in r.text and "Vorkasse" not in r.text
    assert [e["event"] for e in r.json()["items"]] == ["comment_added", "created"]

    employee = [e["event"] for e in await history(client, emp, t["id"])]
    assert employee == ["comment_added", "comment_deleted", "comment_edited", "comment_added", "created"]


async def test_an_event_kind_not_on_the_allow_list_is_not_shown(client, world, database):
    await enable(client, world, world.type_a)
    cux, emp = world.customer_user_x.headers, world.employee_a.headers
    t = await new_ticket(client, cux, world.site_a1, world.type_a)
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO ticket_events (id, ticket_id, event, field, new_value, public)"
                " VALUES (:id, :t, 'escalated', 'level', '\"Geschäftsführung\"', true),"
                " (:id2, :t, 'updated', 'search_internal', '\"intern\"', true)"
            ),
            {"id": uuid.uuid4(), "id2": uuid.uuid4(), "t": t["id"]},
        )
    assert [e["event"] for e in await history(client, cux, t["id"])] == ["created"]
    assert {e["event"] for e in await history(client, emp, t["id"])} == {"created", "escalated", "updated"}


# -- mails --------------------------------------------------------------------------------------------


async def test_customer_mails_carry_nothing_outside_the_allow_list(client, world, session, mailbox, settings):
    hidden = await make_ticket_type(session, tenant=world.tenant_a, name="Intern")
    await session.commit()
    await enable(client, world, world.type_a)
    cux, emp = world.customer_user_x.headers, world.employee_a.headers
    t = await new_ticket(client, cux, world.site_a1, world.type_a, "Licht im Flur")
    await patch(client, emp, t["id"], assignee_id=str(world.employee_a.id), due_date="2031-02-03")
    await patch(client, emp, t["id"], ticket_type_id=str(hidden.id))
    await patch(client, emp, t["id"], ticket_type_id=str(world.type_a.id))
    await mailbox.deliver()

    for body, internal in (("Kulanz nicht gewähren", True), ("Elektriker kommt morgen", False)):
        r = await client.post(
            f"{API}/tickets/{t['id']}/comments", headers=emp, json={"body": body, "internal": internal}
        )
        assert r.status_code == 201, r.text
    await patch(client, emp, t["id"], status="closed")
    mails = await mailbox.deliver()

    assert [m.rcpt_tos for m in mails] == [[world.customer_user_x.email]] * 2
    facts = [f"Ticket {t['number']}: Licht im Flur", f"Objekt: {world.site_a1.name}"]
    link = f"{settings.portal_base_url.rstrip('/')}/tickets/{t['id']}"
    greeting = "Hallo Kim Customer,"
    commented = "zu Ihrem Ticket gibt es einen neuen Kommentar von Erika Employee:"
    rate = "Wie zufrieden sind Sie mit der Erledigung? Bewerten Sie das Ticket hier:"  # the creator's
    expected = [
        [greeting, "Ihr Ticket wurde geschlossen.", *facts, rate, link],
        [greeting, commented, "Elektriker kommt morgen", *facts, link],
    ]
    # Every paragraph of each mail is accounted for: greeting, event, public comment, allowed facts.
    paragraphs = [[line for line in text_part(m.message).splitlines() if line] for m in mails]
    assert sorted(paragraphs) == expected
    for mail in mails:
        bodies = text_part(mail.message) + html_part(mail.message)
        assert "@" not in bodies  # no address at all, the employee's least of all
        for outside in ("Kulanz", str(hidden.id), "Intern", str(world.employee_a.id), "2031-02-03"):
            assert outside not in bodies, outside


async def test_a_mail_cannot_take_a_ticket_field_outside_the_allow_list():
    ticket = Ticket(number="AAA-000001", title="Tür", search_internal="'intern'")
    assert customer_view.ticket_values(ticket, "number", "title") == {"number": "AAA-000001", "title": "Tür"}
    with pytest.raises(ValueError, match="search_internal"):
        customer_view.ticket_values(ticket, "number", "search_internal")
