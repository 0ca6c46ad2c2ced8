"""Following tickets and notification settings: who may follow, who is listed, and who is mailed, as
received by a real SMTP server."""

from __future__ import annotations

import uuid

import httpx

from tests.factories import World
from tests.kit import API, assert_problem, new_ticket
from tests.smtp import Mailbox
from tests.test_notifications import (
    DESCRIPTION,
    add_customer_user,
    comment,
    patch_ticket,
    recipients,
    text_part,
)

COLLEAGUE = "kollegin@hansa.example"
RATE_DE = "Bewerten Sie das Ticket hier"


async def subscription(client: httpx.AsyncClient, headers: dict[str, str], ticket: dict) -> httpx.Response:
    return await client.get(f"{API}/tickets/{ticket['id']}/subscription", headers=headers)


async def subscribe(client: httpx.AsyncClient, headers: dict[str, str], ticket: dict, on: bool) -> dict:
    r = await client.put(
        f"{API}/tickets/{ticket['id']}/subscription", headers=headers, json={"subscribed": on}
    )
    assert r.status_code == 200, r.text
    return r.json()


async def followers(client: httpx.AsyncClient, headers: dict[str, str], ticket: dict) -> list[dict]:
    r = await client.get(f"{API}/tickets/{ticket['id']}/followers", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def set_followers(
    client: httpx.AsyncClient, headers: dict[str, str], ticket: dict, ids: list[object]
) -> httpx.Response:
    return await client.put(
        f"{API}/tickets/{ticket['id']}/followers",
        headers=headers,
        json={"account_ids": [str(i) for i in ids]},
    )


async def settings_of(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> dict:
    r = await client.put(f"{API}/me/notification-settings", headers=headers, json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def me_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await client.get(f"{API}/me", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["id"]


async def customer_ticket(client: httpx.AsyncClient, world: World, mailbox: Mailbox) -> dict:
    """A ticket customer user X reported on site A1; the mails about its creation are out of the way."""
    ticket = await new_ticket(
        client, world.customer_user_x.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await mailbox.deliver()
    return ticket


# --- The colleague who follows -------------------------------------------------------------------


async def test_colleague_who_follows_gets_the_comment_and_the_close_mail_once_each(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    colleague = await add_customer_user(client, world, COLLEAGUE)
    assert (await subscription(client, colleague, ticket)).json() == {"subscribed": False, "reason": None}
    assert await subscribe(client, colleague, ticket, True) == {"subscribed": True, "reason": "follower"}
    # Following twice is still following once.
    assert await subscribe(client, colleague, ticket, True) == {"subscribed": True, "reason": "follower"}

    await comment(client, world.employee_a.headers, ticket, "Wir kommen morgen um 8 Uhr.")
    mails = await mailbox.deliver()
    assert recipients(mails) == sorted([COLLEAGUE, world.customer_user_x.email])
    assert all("Wir kommen morgen um 8 Uhr." in text_part(m.message) for m in mails)

    await patch_ticket(client, world.employee_a, ticket, status="closed")
    mails = await mailbox.deliver()
    assert recipients(mails) == sorted([COLLEAGUE, world.customer_user_x.email])
    by_recipient = {m.rcpt_tos[0]: text_part(m.message) for m in mails}
    # Only its creator may rate the ticket, so only the creator's closing mail asks for it.
    assert RATE_DE in by_recipient[world.customer_user_x.email]
    assert f"/tickets/{ticket['id']}" in by_recipient[world.customer_user_x.email]
    assert RATE_DE not in by_recipient[COLLEAGUE]


async def test_creator_who_also_follows_explicitly_gets_one_mail(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    assert (await subscription(client, world.customer_user_x.headers, ticket)).json() == {
        "subscribed": True,
        "reason": "creator",
    }
    assert await subscribe(client, world.customer_user_x.headers, ticket, True) == {
        "subscribed": True,
        "reason": "creator",
    }
    admin = world.admin.headers
    assert (await set_followers(client, admin, ticket, [world.customer_user_x.id] * 2)).status_code == 200

    await comment(client, world.employee_a.headers, ticket, "Erledigt.")
    assert recipients(await mailbox.deliver()) == [world.customer_user_x.email]


async def test_unfollowing_or_losing_the_site_ends_the_mails(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    colleague = await add_customer_user(client, world, COLLEAGUE)
    colleague_id = await me_id(client, colleague)
    await subscribe(client, colleague, ticket, True)
    assert await subscribe(client, colleague, ticket, False) == {"subscribed": False, "reason": None}

    await comment(client, world.employee_a.headers, ticket, "Erster Termin steht.")
    assert recipients(await mailbox.deliver()) == [world.customer_user_x.email]

    # Following again, then the site is taken away: no mail, and no longer listed as a follower.
    await subscribe(client, colleague, ticket, True)
    r = await client.put(
        f"{API}/customer-users/{colleague_id}/sites", headers=world.admin.headers, json={"site_ids": []}
    )
    assert r.status_code == 200, r.text
    await comment(client, world.employee_a.headers, ticket, "Zweiter Termin steht.")
    await patch_ticket(client, world.employee_a, ticket, status="closed")
    assert COLLEAGUE not in recipients(await mailbox.deliver())
    assert colleague_id not in [f["id"] for f in await followers(client, world.admin.headers, ticket)]
    # Nor does following let it see the ticket.
    assert_problem(await subscription(client, colleague, ticket), 404)
    assert_problem(await client.get(f"{API}/tickets/{ticket['id']}", headers=colleague), 404)


async def test_creator_who_unfollows_hears_nothing_more(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    assert await subscribe(client, world.customer_user_x.headers, ticket, False) == {
        "subscribed": False,
        "reason": None,
    }
    await comment(client, world.employee_a.headers, ticket, "Erledigt.")
    await patch_ticket(client, world.employee_a, ticket, status="closed")
    assert await mailbox.deliver() == []
    assert await subscribe(client, world.customer_user_x.headers, ticket, True) == {
        "subscribed": True,
        "reason": "creator",
    }


async def test_assignee_who_unfollows_hears_nothing_of_customer_comments(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    await patch_ticket(client, world.employee_a, ticket, assignee_id=str(world.employee_a.id))
    emp = world.employee_a.headers
    assert (await subscription(client, emp, ticket)).json() == {"subscribed": True, "reason": "assignee"}

    await comment(client, world.customer_user_x.headers, ticket, "Bitte bis Freitag.")
    assert recipients(await mailbox.deliver()) == [world.employee_a.email]

    await subscribe(client, emp, ticket, False)
    await comment(client, world.customer_user_x.headers, ticket, "Und bitte gründlich.")
    assert await mailbox.deliver() == []


# --- Settings ------------------------------------------------------------------------------------------


async def test_comment_false_stops_comment_mails_only(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    colleague = await add_customer_user(client, world, COLLEAGUE)
    await subscribe(client, colleague, ticket, True)
    assert await settings_of(client, colleague, comment=False, status=True, locale="en") == {
        "comment": False,
        "status": True,
        "locale": "en",
    }

    await comment(client, world.employee_a.headers, ticket, "Wir kommen morgen.")
    assert recipients(await mailbox.deliver()) == [world.customer_user_x.email]

    await patch_ticket(client, world.employee_a, ticket, status="closed")
    mails = await mailbox.deliver()
    assert recipients(mails) == sorted([COLLEAGUE, world.customer_user_x.email])
    # The locale chose the colleague's language; the creator's stays German.
    subjects = {m.rcpt_tos[0]: str(m.message["Subject"]) for m in mails}
    assert subjects[COLLEAGUE].startswith(f"Ticket {ticket['number']} was closed")
    assert "wurde geschlossen" in subjects[world.customer_user_x.email]


async def test_status_false_stops_status_mails_only(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    await settings_of(client, world.customer_user_x.headers, comment=True, status=False, locale="de")

    await patch_ticket(client, world.employee_a, ticket, status="in_progress")
    await patch_ticket(client, world.employee_a, ticket, status="closed")
    assert await mailbox.deliver() == []
    await comment(client, world.employee_a.headers, ticket, "Nachtrag.")
    assert recipients(await mailbox.deliver()) == [world.customer_user_x.email]


async def test_every_status_change_reaches_the_followers_in_their_language(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    colleague = await add_customer_user(client, world, COLLEAGUE)
    await settings_of(client, colleague, comment=True, status=True, locale="en")
    await subscribe(client, colleague, ticket, True)
    admin = world.admin.headers
    r = await set_followers(client, admin, ticket, [world.customer_user_x.id, world.employee_a.id])
    assert r.status_code == 200, r.text
    await subscribe(client, colleague, ticket, True)

    await patch_ticket(client, world.admin, ticket, status="waiting")
    mails = await mailbox.deliver()
    assert recipients(mails) == sorted([COLLEAGUE, world.customer_user_x.email, world.employee_a.email])
    texts = {m.rcpt_tos[0]: text_part(m.message) for m in mails}
    assert "your ticket's status is now: Waiting." in texts[COLLEAGUE]
    assert "der Status Ihres Tickets ist jetzt: Wartet." in texts[world.customer_user_x.email]
    # The employee's mail says who changed it; the customers' mails name nobody.
    assert "hat den Status geändert: Wartet." in texts[world.employee_a.email]
    assert all(world.admin.email not in t for t in texts.values())

    # Nobody hears of their own change; re-opening is a status change too.
    await patch_ticket(client, world.employee_a, ticket, status="closed")
    assert recipients(await mailbox.deliver()) == sorted([COLLEAGUE, world.customer_user_x.email])
    await patch_ticket(client, world.employee_a, ticket, status="open")
    mails = await mailbox.deliver()
    assert recipients(mails) == sorted([COLLEAGUE, world.customer_user_x.email])
    assert all(RATE_DE not in text_part(m.message) for m in mails)
    # A change that is no change mails nobody.
    await patch_ticket(client, world.employee_a, ticket, status="open")
    assert await mailbox.deliver() == []


async def test_notification_settings_default_on_and_are_ones_own(client, portal):
    world = portal
    cux = world.customer_user_x.headers
    r = await client.get(f"{API}/me/notification-settings", headers=cux)
    assert r.status_code == 200, r.text
    assert r.json() == {"comment": True, "status": True, "locale": "de"}
    await settings_of(client, cux, comment=False, status=False, locale="en")
    r = await client.get(f"{API}/me/notification-settings", headers=cux)
    assert r.json() == {"comment": False, "status": False, "locale": "en"}
    # The locale is the one the portal administration sees; nobody else's settings changed.
    r = await client.get(f"{API}/customer-users/{world.customer_user_x.id}", headers=world.admin.headers)
    assert r.json()["locale"] == "en"
    r = await client.get(f"{API}/me/notification-settings", headers=world.employee_a.headers)
    assert r.json() == {"comment": True, "status": True, "locale": "de"}


async def test_malformed_notification_settings_are_refused(client, portal):
    cux = portal.customer_user_x.headers
    for body, loc in (
        ({"comment": True, "status": True, "locale": "fr"}, ["body", "locale"]),
        ({"comment": "yes", "status": True, "locale": "de"}, ["body", "comment"]),
        ({"comment": True, "locale": "de"}, ["body", "status"]),
        ({"comment": True, "status": True, "locale": "de", "email": "x@y.z"}, ["body", "email"]),
    ):
        r = await client.put(f"{API}/me/notification-settings", headers=cux, json=body)
        assert_problem(r, 422, loc)
    r = await client.get(f"{API}/me/notification-settings", headers=cux)
    assert r.json() == {"comment": True, "status": True, "locale": "de"}


# --- What never reaches anyone -------------------------------------------------------------------------


async def test_internal_notes_never_reach_customer_followers(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    colleague = await add_customer_user(client, world, COLLEAGUE)
    await subscribe(client, colleague, ticket, True)

    await comment(client, world.employee_a.headers, ticket, "Kunde zahlt schlecht.", internal=True)

    mails = await mailbox.deliver()
    assert mails == []


async def test_own_actions_never_mail_oneself(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    colleague = await add_customer_user(client, world, COLLEAGUE)
    await subscribe(client, colleague, ticket, True)
    await subscribe(client, world.employee_a.headers, ticket, True)

    await comment(client, colleague, ticket, "Ich bestätige das.")
    assert recipients(await mailbox.deliver()) == sorted(
        [world.customer_user_x.email, world.employee_a.email]
    )

    await comment(client, world.employee_a.headers, ticket, "Danke.")
    assert recipients(await mailbox.deliver()) == sorted([COLLEAGUE, world.customer_user_x.email])

    await patch_ticket(client, world.employee_a, ticket, status="closed")
    assert world.employee_a.email not in recipients(await mailbox.deliver())


async def test_employee_followers_hear_of_customer_comments_and_attachments(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    colleague_id = await me_id(client, await add_customer_user(client, world, COLLEAGUE))
    r = await set_followers(
        client, world.admin.headers, ticket, [world.customer_user_x.id, world.employee_a.id, colleague_id]
    )
    assert r.status_code == 200, r.text
    assert [(f["id"], f["kind"]) for f in r.json()["items"]] == [
        (str(world.customer_user_x.id), "customer_user"),
        (str(world.employee_a.id), "employee"),
        (colleague_id, "customer_user"),
    ]

    r = await client.post(
        f"{API}/tickets/{ticket['id']}/attachments",
        headers=world.customer_user_x.headers,
        files=[("files", ("foto.txt", b"Fleck an der Wand", "text/plain"))],
    )
    assert r.status_code == 201, r.text
    mails = await mailbox.deliver()
    # The customer user who uploaded hears nothing; customer followers are not told of files.
    assert recipients(mails) == [world.employee_a.email]
    assert COLLEAGUE not in recipients(mails)
    assert "foto.txt" in text_part(mails[0].message)

    await comment(client, world.customer_user_x.headers, ticket, "Bitte schnell.")
    assert recipients(await mailbox.deliver()) == sorted([COLLEAGUE, world.employee_a.email])


# --- Refused -------------------------------------------------------------------------------------------


async def test_following_a_ticket_one_cannot_see_is_not_found(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    for actor in (world.customer_user_y, world.customer_user_x2, world.employee_b):
        r = await client.put(
            f"{API}/tickets/{ticket['id']}/subscription", headers=actor.headers, json={"subscribed": True}
        )
        assert_problem(r, 404)
        assert_problem(await subscription(client, actor.headers, ticket), 404)
        assert_problem(await set_followers(client, actor.headers, ticket, []), 404)
    assert_problem(await subscription(client, world.customer_user_x.headers, {"id": uuid.uuid4()}), 404)


async def test_customer_users_neither_read_nor_set_followers(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    cux = world.customer_user_x.headers
    assert_problem(await client.get(f"{API}/tickets/{ticket['id']}/followers", headers=cux), 403)
    assert_problem(await set_followers(client, cux, ticket, [world.customer_user_x.id]), 403)


async def test_only_accounts_that_see_the_ticket_can_be_made_followers(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    admin = world.admin.headers
    before = await followers(client, admin, ticket)
    for index, outsider in enumerate(
        # Another customer's user, a colleague with no site, an employee of another tenant, nobody.
        (world.customer_user_y.id, world.customer_user_x2.id, world.employee_b.id, uuid.uuid4())
    ):
        r = await set_followers(client, admin, ticket, [world.customer_user_x.id] * index + [outsider])
        assert_problem(r, 422, ["body", "account_ids", index])
    assert await followers(client, admin, ticket) == before


async def test_malformed_or_oversized_follower_bodies_are_refused(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    url = f"{API}/tickets/{ticket['id']}/followers"
    admin = world.admin.headers
    for body, loc in (
        ({"account_ids": "alle"}, ["body", "account_ids"]),
        ({"account_ids": ["keine-uuid"]}, ["body", "account_ids", 0]),
        ({"account_ids": [str(uuid.uuid4()) for _ in range(101)]}, ["body", "account_ids"]),
        ({}, ["body", "account_ids"]),
    ):
        assert_problem(await client.put(url, headers=admin, json=body), 422, loc)
    for body, loc in (
        ({"subscribed": "ja"}, ["body", "subscribed"]),
        ({"subscribed": None}, ["body", "subscribed"]),
    ):
        r = await client.put(f"{API}/tickets/{ticket['id']}/subscription", headers=admin, json=body)
        assert_problem(r, 422, loc)


async def test_followers_are_listed_and_replaced_as_a_whole(client, portal, mailbox):
    world = portal
    ticket = await customer_ticket(client, world, mailbox)
    admin = world.admin.headers
    await patch_ticket(client, world.employee_a, ticket, assignee_id=str(world.employee_a.id))
    colleague = await add_customer_user(client, world, COLLEAGUE)
    colleague_id = await me_id(client, colleague)
    await subscribe(client, colleague, ticket, True)
    listed = await followers(client, admin, ticket)
    assert [(f["id"], f["kind"]) for f in listed] == [
        (str(world.customer_user_x.id), "customer_user"),
        (str(world.employee_a.id), "employee"),
        (colleague_id, "customer_user"),
    ]
    # Sending back what was read changes nothing.
    r = await set_followers(client, admin, ticket, [f["id"] for f in listed])
    assert r.json()["items"] == listed
    # Leaving out the assignee and the colleague: the assignee opted out, the colleague no longer follows.
    r = await set_followers(client, admin, ticket, [world.customer_user_x.id])
    assert [f["id"] for f in r.json()["items"]] == [str(world.customer_user_x.id)]
    assert (await subscription(client, colleague, ticket)).json() == {"subscribed": False, "reason": None}
    r = await subscription(client, world.employee_a.headers, ticket)
    assert r.json() == {"subscribed": False, "reason": None}
