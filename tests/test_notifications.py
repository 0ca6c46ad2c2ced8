"""Who is e-mailed about what, and what those mails say, as received by a real SMTP server."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import func, select

from blink_api.identity.principals import EmployeePrincipal
from blink_api.kit.config import Settings
from blink_api.kit.db import Database
from blink_api.notifications.models import OutboxMessage
from blink_api.tickets import comments as ticket_comments
from blink_api.tickets.schemas import CommentCreate
from tests.factories import PASSWORD, Actor, World
from tests.kit import API, new_ticket
from tests.smtp import SENDER, Received

DESCRIPTION = "Die Eingangstür schließt nicht."  # every ticket here has one, so mails render it


def recipients(mails: list[Received]) -> list[str]:
    return sorted(addr for m in mails for addr in m.rcpt_tos)


def text_part(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_part(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    r = await client.post(f"{API}/auth/token", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def add_employee(
    client: httpx.AsyncClient,
    world: World,
    email: str,
    *,
    tenants: list[uuid.UUID] | None = None,
    notify_unassigned: bool = True,
    locale: str = "de",
    name: str = "Olaf Optin",
) -> str:
    r = await client.post(
        f"{API}/employees",
        headers=world.admin.headers,
        json={
            "email": email,
            "name": name,
            "password": PASSWORD,
            "tenant_ids": [str(t) for t in (tenants if tenants is not None else [world.tenant_a.id])],
            "notify_unassigned": notify_unassigned,
            "locale": locale,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def add_customer_user(
    client: httpx.AsyncClient, world: World, email: str, *, locale: str = "de"
) -> dict[str, str]:
    """Another user of customer X on site A1; returns its auth headers."""
    r = await client.post(
        f"{API}/customers/{world.customer_x.id}/users",
        headers=world.admin.headers,
        json={"email": email, "name": "Lee Portal", "password": PASSWORD, "locale": locale},
    )
    assert r.status_code == 201, r.text
    r = await client.put(
        f"{API}/customer-users/{r.json()['id']}/sites",
        headers=world.admin.headers,
        json={"site_ids": [str(world.site_a1.id)]},
    )
    assert r.status_code == 200, r.text
    return await login(client, email)


async def comment(
    client: httpx.AsyncClient, headers: dict[str, str], ticket: dict, body: str, *, internal: bool = False
) -> None:
    payload: dict[str, object] = {"body": body}
    if internal:
        payload["internal"] = True
    r = await client.post(f"{API}/tickets/{ticket['id']}/comments", headers=headers, json=payload)
    assert r.status_code == 201, r.text


async def patch_ticket(client: httpx.AsyncClient, actor: Actor, ticket: dict, **fields: object) -> None:
    r = await client.patch(f"{API}/tickets/{ticket['id']}", headers=actor.headers, json=fields)
    assert r.status_code == 200, r.text


async def outbox_count(database: Database) -> int:
    async with database.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def employee_addresses(world: World, *extra: str) -> list[str]:
    actors = [world.admin, world.admin_no_insight, world.insight_no_admin, world.employee_a, world.employee_b]
    return [a.email for a in actors] + list(extra)


# --- Who gets what ---------------------------------------------------------------------------------


async def test_customer_ticket_mails_opted_in_active_employees_of_its_tenant_only(client, portal, mailbox):
    world = portal
    await add_employee(client, world, "optin@example.com")
    await add_employee(client, world, "optin-b@example.com", tenants=[world.tenant_b.id])
    gone = await add_employee(client, world, "gone@example.com")
    r = await client.patch(f"{API}/employees/{gone}", headers=world.admin.headers, json={"is_active": False})
    assert r.status_code == 200, r.text

    ticket = await new_ticket(
        client,
        world.customer_user_x.headers,
        world.site_a1,
        world.type_a,
        description=DESCRIPTION,
        title="Heizung kalt",
    )
    mails = await mailbox.deliver()

    # Not employee_a (did not opt in), not tenant B, not the inactive one, not the customer who acted.
    assert recipients(mails) == ["optin@example.com"]
    subject = mails[0].message["Subject"]
    assert ticket["number"] in subject and "Heizung kalt" in subject


async def test_employee_creating_or_commenting_mails_no_employee(client, portal, mailbox):
    world = portal
    await add_employee(client, world, "optin@example.com")
    ticket = await new_ticket(
        client, world.employee_a.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await comment(client, world.employee_a.headers, ticket, "Techniker ist informiert.")
    await patch_ticket(client, world.employee_a, ticket, status="closed")

    # Employees hear about customer actions only; a ticket no customer created mails no customer.
    assert await mailbox.deliver() == []


async def test_assignee_alone_hears_of_customer_comment(client, portal, mailbox):
    world = portal
    await add_employee(client, world, "optin@example.com")
    ticket = await new_ticket(
        client, world.customer_user_x.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await mailbox.deliver()
    await patch_ticket(client, world.employee_a, ticket, assignee_id=str(world.employee_a.id))
    assert await mailbox.deliver() == []  # assigning is no customer action

    await comment(client, world.customer_user_x.headers, ticket, "Bitte bis Freitag.")
    mails = await mailbox.deliver()

    # With an assignee, the opted-in colleagues are left alone; the customer is not told of its own words.
    assert recipients(mails) == [world.employee_a.email]
    assert "Bitte bis Freitag." in text_part(mails[0].message)


async def test_inactive_assignee_gets_nothing(client, portal, mailbox):
    world = portal
    ticket = await new_ticket(
        client, world.customer_user_x.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await patch_ticket(client, world.employee_a, ticket, assignee_id=str(world.employee_a.id))
    r = await client.patch(
        f"{API}/employees/{world.employee_a.id}", headers=world.admin.headers, json={"is_active": False}
    )
    assert r.status_code == 200, r.text

    await comment(client, world.customer_user_x.headers, ticket, "Noch jemand da?")

    assert world.employee_a.email not in recipients(await mailbox.deliver())


async def test_employee_public_comment_mails_the_creating_customer_user_only(client, portal, mailbox):
    world = portal
    await add_employee(client, world, "optin@example.com")
    ticket = await new_ticket(
        client, world.customer_user_x.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await mailbox.deliver()

    await comment(client, world.employee_a.headers, ticket, "Wir kommen morgen um 8 Uhr.")
    mails = await mailbox.deliver()

    assert recipients(mails) == [world.customer_user_x.email]
    assert "Wir kommen morgen um 8 Uhr." in text_part(mails[0].message)


async def test_internal_note_mails_nobody(client, portal, mailbox):
    world = portal
    await add_employee(client, world, "optin@example.com")
    ticket = await new_ticket(
        client, world.customer_user_x.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await mailbox.deliver()

    await comment(client, world.employee_a.headers, ticket, "Kunde zahlt schlecht.", internal=True)

    assert await mailbox.deliver() == []


async def test_customer_is_not_mailed_about_own_comment_but_about_a_colleagues(client, portal, mailbox):
    world = portal
    ticket = await new_ticket(
        client, world.customer_user_x.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await comment(client, world.customer_user_x.headers, ticket, "Nachtrag von mir.")
    assert world.customer_user_x.email not in recipients(await mailbox.deliver())

    colleague = await add_customer_user(client, world, "kollege@hansa.example")
    await comment(client, colleague, ticket, "Ich bestätige das.")
    mails = await mailbox.deliver()

    # Someone else's public comment reaches the creator, and the commenting colleague hears nothing.
    assert world.customer_user_x.email in recipients(mails)
    assert "kollege@hansa.example" not in recipients(mails)


async def test_closing_mails_the_creating_customer_user(client, portal, mailbox):
    world = portal
    await add_employee(client, world, "optin@example.com")
    ticket = await new_ticket(
        client, world.customer_user_x.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await mailbox.deliver()

    await patch_ticket(client, world.employee_a, ticket, status="in_progress")
    mails = await mailbox.deliver()
    # Every status change reaches the creator (SPEC: "status changes, including closing"); the
    # opted-in colleague hears only of new customer tickets and comments.
    assert recipients(mails) == [world.customer_user_x.email]
    assert mails[0].message["Subject"] == f"Neuer Status von Ticket {ticket['number']}: {ticket['title']}"
    assert "der Status Ihres Tickets ist jetzt: In Bearbeitung." in text_part(mails[0].message)

    await patch_ticket(client, world.employee_a, ticket, status="closed")
    mails = await mailbox.deliver()

    assert recipients(mails) == [world.customer_user_x.email]
    assert ticket["number"] in mails[0].message["Subject"]
    assert "wurde geschlossen" in mails[0].message["Subject"]


async def test_creator_who_lost_the_ticket_hears_nothing_more(client, portal, mailbox):
    world = portal
    ticket = await new_ticket(
        client, world.customer_user_x.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await mailbox.deliver()
    # The site is taken away from the creator: the ticket is out of its scope now.
    r = await client.put(
        f"{API}/customer-users/{world.customer_user_x.id}/sites",
        headers=world.admin.headers,
        json={"site_ids": []},
    )
    assert r.status_code == 200, r.text

    await comment(client, world.employee_a.headers, ticket, "Erledigt, bitte prüfen.")
    await patch_ticket(client, world.employee_a, ticket, status="closed")

    assert world.customer_user_x.email not in recipients(await mailbox.deliver())


async def test_inactive_customer_user_gets_nothing(client, portal, mailbox):
    world = portal
    ticket = await new_ticket(
        client, world.customer_user_x.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await mailbox.deliver()
    r = await client.patch(
        f"{API}/customer-users/{world.customer_user_x.id}",
        headers=world.admin.headers,
        json={"is_active": False},
    )
    assert r.status_code == 200, r.text

    await comment(client, world.employee_a.headers, ticket, "Erledigt.")
    await patch_ticket(client, world.employee_a, ticket, status="closed")

    assert await mailbox.deliver() == []


async def test_employee_invitation_mails_a_working_set_password_link(client, world, mailbox, settings):
    r = await client.post(
        f"{API}/employees",
        headers=world.admin.headers,
        json={"email": "neu@example.com", "name": "Nina Neu", "tenant_ids": [str(world.tenant_a.id)]},
    )
    assert r.status_code == 201, r.text
    mails = await mailbox.deliver()

    assert recipients(mails) == ["neu@example.com"]
    body = text_part(mails[0].message)
    link = next(line for line in body.splitlines() if line.startswith("http"))
    assert link.startswith(settings.portal_base_url.rstrip("/") + "/")
    token = parse_qs(urlparse(link).query)["token"][0]
    r = await client.post(f"{API}/auth/password", json={"token": token, "password": "a brand new secret"})
    assert r.status_code == 204, r.text
    await login(client, "neu@example.com", "a brand new secret")


async def test_customer_user_invitation_is_a_portal_invitation_in_its_language(client, world, mailbox):
    for email, locale in (("de@hansa.example", "de"), ("en@hansa.example", "en")):
        r = await client.post(
            f"{API}/customers/{world.customer_x.id}/users",
            headers=world.admin.headers,
            json={"email": email, "name": "Pia Portal", "locale": locale},
        )
        assert r.status_code == 201, r.text
    mails = {m.rcpt_tos[0]: m.message for m in await mailbox.deliver()}

    assert sorted(mails) == ["de@hansa.example", "en@hansa.example"]
    assert mails["de@hansa.example"]["Subject"] == "Ihr Zugang zum Blink Kundenportal"
    assert "Sie wurden zum Blink Kundenportal eingeladen." in text_part(mails["de@hansa.example"])
    assert "customer portal" in mails["en@hansa.example"]["Subject"]
    assert "set-password?token=" in text_part(mails["en@hansa.example"])


async def test_accounts_created_with_a_password_get_no_invitation(client, world, mailbox):
    await add_employee(client, world, "mitpasswort@example.com")
    await add_customer_user(client, world, "mitpasswort@hansa.example")

    assert await mailbox.deliver() == []


# --- What the mails say ----------------------------------------------------------------------------


async def test_customer_mails_have_one_recipient_and_no_staff_address_or_internal_note(
    client, portal, mailbox
):
    world = portal
    await add_employee(client, world, "optin@example.com")
    ticket = await new_ticket(
        client, world.customer_user_x.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await patch_ticket(client, world.employee_a, ticket, assignee_id=str(world.employee_a.id))
    await mailbox.deliver()

    await comment(client, world.employee_a.headers, ticket, "INTERN: Preis verdoppeln", internal=True)
    await comment(client, world.employee_a.headers, ticket, "Reparatur ist beauftragt.")
    await patch_ticket(client, world.employee_a, ticket, status="closed")
    mails = await mailbox.deliver()

    assert len(mails) == 2
    staff = employee_addresses(world, "optin@example.com")
    for mail in mails:
        msg = mail.message
        assert mail.rcpt_tos == [world.customer_user_x.email]
        assert msg.get_all("To") == [world.customer_user_x.email]
        assert msg["Cc"] is None and msg["Bcc"] is None
        assert msg["From"] == SENDER
        raw = mail.content.decode("utf-8", "replace") + text_part(msg) + html_part(msg)
        assert not [a for a in staff if a in raw], raw
        assert "Preis verdoppeln" not in raw


async def test_employee_and_customer_get_separate_messages(client, portal, mailbox):
    world = portal
    ticket = await new_ticket(
        client, world.customer_user_x.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await patch_ticket(client, world.employee_a, ticket, assignee_id=str(world.employee_a.id))
    colleague = await add_customer_user(client, world, "kollege@hansa.example")

    await comment(client, colleague, ticket, "Auch im 3. OG.")
    mails = await mailbox.deliver()

    # One event, two audiences: two messages, each addressed to its reader alone.
    assert sorted(tuple(m.rcpt_tos) for m in mails) == [
        (world.employee_a.email,),
        (world.customer_user_x.email,),
    ]
    by_rcpt = {m.rcpt_tos[0]: m for m in mails}
    assert world.employee_a.email not in by_rcpt[world.customer_user_x.email].content.decode()
    assert by_rcpt[world.employee_a.email].message_id != by_rcpt[world.customer_user_x.email].message_id


async def test_mail_names_ticket_site_comment_and_links_to_the_portal(client, portal, mailbox, settings):
    world = portal
    ticket = await new_ticket(
        client,
        world.customer_user_x.headers,
        world.site_a1,
        world.type_a,
        description=DESCRIPTION,
        title="Aufzug steht",
    )
    await mailbox.deliver()

    await comment(client, world.employee_a.headers, ticket, "Der Monteur ist unterwegs.")
    (mail,) = await mailbox.deliver()
    msg = mail.message

    assert msg.get_content_type() == "multipart/alternative"
    base = settings.portal_base_url.rstrip("/")
    for body in (text_part(msg), html_part(msg)):
        assert ticket["number"] in body
        assert "Aufzug steht" in body
        assert world.site_a1.name in body
        assert "Der Monteur ist unterwegs." in body
        assert f"{base}/tickets/{ticket['id']}" in body
    assert f'href="{base}/tickets/{ticket["id"]}"' in html_part(msg)


async def test_user_text_is_escaped_in_html(client, portal, mailbox):
    world = portal
    ticket = await new_ticket(
        client,
        world.customer_user_x.headers,
        world.site_a1,
        world.type_a,
        description=DESCRIPTION,
        title="<b>Leck</b> & Co",
    )
    await mailbox.deliver()

    await comment(client, world.employee_a.headers, ticket, "<script>alert(1)</script>")
    (mail,) = await mailbox.deliver()
    html = html_part(mail.message)

    assert "<script>" not in html and "<b>Leck</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Leck&lt;/b&gt; &amp; Co" in html
    # The plain-text part shows the words as written.
    assert "<script>alert(1)</script>" in text_part(mail.message)


async def test_line_break_in_title_cannot_add_a_header(client, portal, mailbox):
    world = portal
    await add_employee(client, world, "optin@example.com")

    ticket = await new_ticket(
        client,
        world.customer_user_x.headers,
        world.site_a1,
        world.type_a,
        title="Wasserschaden\r\nBcc: attacker@evil.test",
    )
    (mail,) = await mailbox.deliver()
    msg = mail.message

    assert mail.rcpt_tos == ["optin@example.com"]
    assert msg["Bcc"] is None
    header_block = mail.content.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    assert not [line for line in header_block.splitlines() if line.lower().startswith(b"bcc")]
    subject = str(msg["Subject"])
    assert "\r" not in subject and "\n" not in subject
    assert ticket["number"] in subject and "Wasserschaden" in subject


async def test_english_for_locale_en_german_otherwise(client, portal, mailbox):
    world = portal
    await add_employee(client, world, "de-staff@example.com", locale="de")
    await add_employee(client, world, "en-staff@example.com", locale="en")
    english_customer = await add_customer_user(client, world, "en@hansa.example", locale="en")

    en_ticket = await new_ticket(
        client, english_customer, world.site_a1, world.type_a, description=DESCRIPTION, title="Light broken"
    )
    de_ticket = await new_ticket(
        client,
        world.customer_user_x.headers,
        world.site_a1,
        world.type_a,
        description=DESCRIPTION,
        title="Licht defekt",
    )
    staff: dict[str, list[EmailMessage]] = {}
    for mail in await mailbox.deliver():
        staff.setdefault(mail.rcpt_tos[0], []).append(mail.message)
    assert sorted(staff) == ["de-staff@example.com", "en-staff@example.com"]
    assert all(m["Subject"].startswith("New customer ticket") for m in staff["en-staff@example.com"])
    assert all(m["Subject"].startswith("Neues Kundenticket") for m in staff["de-staff@example.com"])
    assert "Site: " in text_part(staff["en-staff@example.com"][0])
    assert "Objekt: " in text_part(staff["de-staff@example.com"][0])

    await comment(client, world.employee_a.headers, en_ticket, "On our way.")
    await comment(client, world.employee_a.headers, de_ticket, "Wir sind unterwegs.")
    customers = {m.rcpt_tos[0]: m.message for m in await mailbox.deliver()}

    assert customers["en@hansa.example"]["Subject"].startswith("New comment on ticket")
    assert "Hello " in text_part(customers["en@hansa.example"])
    assert customers[world.customer_user_x.email]["Subject"].startswith("Neuer Kommentar zu Ticket")
    assert "Hallo " in text_part(customers[world.customer_user_x.email])


async def test_longest_allowed_title_still_notifies(client, portal, mailbox):
    world = portal
    await add_employee(client, world, "optin@example.com")
    title = "Sehr langer Titel " + "x" * (300 - len("Sehr langer Titel "))

    # A title of the maximum length the API accepts must not break the mail written alongside it.
    r = await client.post(
        f"{API}/tickets",
        headers=world.customer_user_x.headers,
        json={"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": title},
    )
    assert r.status_code == 201, r.text
    mails = await mailbox.deliver()

    assert recipients(mails) == ["optin@example.com"]


# --- Written with the change, or not at all --------------------------------------------------------


async def test_rolled_back_change_mails_nobody(
    client, portal, mailbox, database: Database, settings: Settings
):
    world = portal
    ticket = await new_ticket(
        client, world.customer_user_x.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await mailbox.deliver()
    employee = EmployeePrincipal(
        id=world.employee_a.id,
        email=world.employee_a.email,
        name="Erika Employee",
        is_admin=False,
        tenant_ids=frozenset({world.tenant_a.id}),
        permissions=frozenset(),
    )

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with database.sessionmaker.begin() as s:
            await ticket_comments.add_comment(
                s, employee, uuid.UUID(ticket["id"]), CommentCreate(body="Wird verworfen"), settings=settings
            )
            # The mail is queued inside the change's own transaction ...
            assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
            raise Abort

    # ... so it disappears with it.
    assert await outbox_count(database) == 0
    assert await mailbox.deliver() == []


async def test_refused_requests_queue_no_mail(client, portal, mailbox, database: Database):
    world = portal
    await add_employee(client, world, "optin@example.com")
    ticket = await new_ticket(
        client, world.customer_user_x.headers, world.site_a1, world.type_a, description=DESCRIPTION
    )
    await mailbox.deliver()
    before = await outbox_count(database)
    url = f"{API}/tickets/{ticket['id']}"

    # Each of these would mail someone had it been accepted.
    r = await client.post(f"{url}/comments", headers=world.employee_b.headers, json={"body": "Fremd"})
    assert r.status_code == 404, r.text
    r = await client.post(f"{url}/comments", headers=world.customer_user_y.headers, json={"body": "Fremd"})
    assert r.status_code == 404, r.text
    r = await client.post(f"{url}/comments", headers=world.employee_a.headers, json={"body": ""})
    assert r.status_code == 422, r.text
    r = await client.patch(
        url, headers={**world.employee_a.headers, "If-Match": '"999"'}, json={"status": "closed"}
    )
    assert r.status_code == 412, r.text
    r = await client.patch(url, headers=world.customer_user_x.headers, json={"status": "closed"})
    assert r.status_code == 403, r.text
    r = await client.post(
        f"{API}/tickets",
        headers=world.customer_user_x.headers,
        json={"site_id": str(world.site_b1.id), "ticket_type_id": str(world.type_a.id), "title": "Fremd"},
    )
    # Site B1 is outside the customer user's scope: 404 (SPEC, Errors).
    assert r.status_code == 404, r.text

    assert await outbox_count(database) == before
    assert await mailbox.deliver() == []
