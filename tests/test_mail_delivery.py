"""The outbox delivery worker against a real SMTP server: once per mail, retries, dead letters, files."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import sys
import uuid
from collections import Counter
from datetime import datetime

import httpx
import pytest
from sqlalchemy import select, text

from blink_api.app import create_app
from blink_api.kit.db import Database
from blink_api.notifications.delivery import DeliveryWorker
from blink_api.notifications.models import OutboxMessage
from blink_api.notifications.service import enqueue
from blink_api.notifications.templates import Mail
from tests.conftest import make_settings
from tests.database import transaction_pooler
from tests.factories import World
from tests.kit import API
from tests.smtp import (
    SENDER,
    SmtpServer,
    drain,
    eventually,
    fast_policy,
    free_port,
    smtp_settings,
    smtp_worker,
)


async def queue(database: Database, recipients: list[str]) -> dict[str, uuid.UUID]:
    """Outbox rows as the application writes them, one per recipient; returns their ids."""
    async with database.sessionmaker.begin() as s:
        for r in recipients:
            await enqueue(s, "test", r, Mail(subject=f"Hallo {r}", text="Hallo\n", html="<p>Hallo</p>"))
        rows = await s.execute(select(OutboxMessage.recipient, OutboxMessage.id))
        return {r.recipient: r.id for r in rows}


async def row(database: Database, message_id: uuid.UUID) -> OutboxMessage:
    async with database.sessionmaker() as s:
        found = await s.get(OutboxMessage, message_id)
        assert found is not None
        return found


async def states(database: Database) -> Counter[str]:
    async with database.sessionmaker() as s:
        return Counter(await s.scalars(select(OutboxMessage.state)))


async def make_due(database: Database) -> None:
    # Test setup: skip the back-off wait instead of sleeping through it.
    async with database.engine.begin() as conn:
        await conn.execute(text("UPDATE outbox SET next_attempt_at = now() WHERE state = 'pending'"))


async def _all_sent(database: Database) -> bool:
    return set(await states(database)) == {"sent"}


async def db_now(database: Database) -> datetime:
    async with database.engine.connect() as conn:
        return (await conn.execute(text("SELECT now()"))).scalar_one()


# --- Nothing lost, nothing twice ---------------------------------------------------------------------


async def test_smtp_down_delays_50_notifications_and_loses_none(
    client, world: World, database, database_url, tmp_path
):
    r = await client.put(
        f"{API}/customers/{world.customer_x.id}/ticket-settings",
        headers=world.admin.headers,
        json={"enabled_ticket_type_ids": [str(world.type_a.id)], "document_sources": []},
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{API}/tickets",
        headers=world.customer_user_x.headers,
        json={"site_id": str(world.site_a1.id), "ticket_type_id": str(world.type_a.id), "title": "Leck"},
    )
    assert r.status_code == 201, r.text
    ticket_id = r.json()["id"]
    r = await client.patch(
        f"{API}/tickets/{ticket_id}",
        headers=world.employee_a.headers,
        json={"assignee_id": str(world.employee_a.id)},
    )
    assert r.status_code == 200, r.text
    for i in range(50):
        r = await client.post(
            f"{API}/tickets/{ticket_id}/comments",
            headers=world.customer_user_x.headers,
            json={"body": f"Nr. {i}"},
        )
        assert r.status_code == 201, r.text

    server = SmtpServer(port=free_port())  # nothing listens there yet
    worker = smtp_worker(database, tmp_path, database_url, server.port)
    assert await drain(worker) == 50

    # Every row waits for a later attempt; none is lost or given up.
    now = await db_now(database)
    async with database.sessionmaker() as s:
        rows = list(await s.scalars(select(OutboxMessage)))
    assert len(rows) == 50
    assert {m.state for m in rows} == {"pending"}
    assert {m.attempts for m in rows} == {1}
    assert all(m.next_attempt_at > now for m in rows)
    assert all(m.last_error for m in rows)

    server.start()
    try:
        await make_due(database)
        await drain(worker)
        received = server.recorder.received
        ids = Counter(m.message_id for m in received)
        assert len(ids) == 50 and max(ids.values()) == 1
        assert sorted(text_of(m.content) for m in received) == sorted(f"Nr. {i}" for i in range(50))
        assert await states(database) == Counter({"sent": 50})
    finally:
        server.stop()


def text_of(content: bytes) -> str:
    msg = email.message_from_bytes(content, policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    return next(line for line in body.splitlines() if line.startswith("Nr. "))


async def test_two_workers_deliver_200_mails_exactly_once(database, database_url, tmp_path, smtp):
    await queue(database, [f"r{i:03d}@example.test" for i in range(200)])
    databases = [Database(database_url, transaction_pooler=transaction_pooler()) for _ in range(2)]
    settings = smtp_settings(tmp_path, database_url, smtp.port)
    workers = [DeliveryWorker(db, settings, policy=fast_policy(batch_size=10)) for db in databases]
    claimed = [0, 0]

    async def work(i: int) -> None:
        while n := await workers[i].run_once():
            claimed[i] += n

    try:
        await asyncio.gather(work(0), work(1))
    finally:
        for db in databases:
            await db.dispose()

    ids = Counter(m.message_id for m in smtp.recorder.received)
    assert len(ids) == 200
    assert [i for i, n in ids.items() if n > 1] == []
    assert smtp.recorder.recipients == [f"r{i:03d}@example.test" for i in range(200)]
    assert await states(database) == Counter({"sent": 200})
    # Both really took part, and no row was claimed twice.
    assert claimed[0] > 0 and claimed[1] > 0 and sum(claimed) == 200


async def test_killed_worker_leaves_its_mail_to_another_after_the_lease(
    database, database_url, tmp_path, smtp
):
    ids = await queue(database, ["kunde@example.test"])
    dying = smtp_worker(database, tmp_path, database_url, smtp.port)
    other = smtp_worker(database, tmp_path, database_url, smtp.port)
    (claimed,) = await dying.claim()  # ... and it never gets to send

    # While the lease runs, nobody else touches the row.
    assert await other.run_once() == 0
    assert (await row(database, claimed.id)).state == "sending"

    async with database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE outbox SET lease_until = now() - interval '1 second' WHERE id = :id"),
            {"id": claimed.id},
        )
    await drain(other)
    await drain(other)

    assert smtp.recorder.recipients == ["kunde@example.test"]
    assert str(ids["kunde@example.test"]) in smtp.recorder.received[0].message_id
    message = await row(database, claimed.id)
    assert message.state == "sent" and message.attempts == 2


async def test_claim_is_committed_and_no_row_lock_is_held_while_talking_smtp(
    database, database_url, tmp_path, smtp
):
    ids = await queue(database, ["langsam@example.test"])
    worker = smtp_worker(database, tmp_path, database_url, smtp.port)
    smtp.recorder.go_on.clear()  # the server stalls in DATA
    sending = asyncio.create_task(worker.run_once())
    try:
        assert await eventually(smtp.recorder.in_data.is_set)
        async with database.engine.connect() as conn:
            # NOWAIT fails at once if the worker still held the row lock.
            got = (
                await conn.execute(
                    text(
                        "SELECT state, lease_until > now() AS leased FROM outbox"
                        " WHERE id = :id FOR UPDATE NOWAIT"
                    ),
                    {"id": ids["langsam@example.test"]},
                )
            ).one()
            await conn.rollback()
        assert got.state == "sending" and got.leased
    finally:
        smtp.recorder.go_on.set()
        await sending
    assert (await row(database, ids["langsam@example.test"])).state == "sent"


# --- Failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "reply"),
    [("rcpt", "550 5.1.1 No such mailbox"), ("data", "554 5.6.0 Message refused")],
)
async def test_permanent_refusal_is_dead_after_one_attempt(
    database, database_url, tmp_path, smtp, stage, reply
):
    ids = await queue(database, ["weg@example.test"])
    replies = smtp.recorder.rcpt_replies if stage == "rcpt" else smtp.recorder.data_replies
    replies["weg@example.test"] = reply
    worker = smtp_worker(database, tmp_path, database_url, smtp.port)

    await drain(worker)
    await make_due(database)
    await drain(worker)

    message = await row(database, ids["weg@example.test"])
    assert message.state == "dead"
    assert message.attempts == 1
    assert reply[:3] in (message.last_error or "")
    assert smtp.recorder.received == []


async def test_temporary_refusal_backs_off_then_goes_dead_after_max_attempts(
    database, database_url, tmp_path, smtp
):
    ids = await queue(database, ["voll@example.test"])
    smtp.recorder.rcpt_replies["voll@example.test"] = "451 4.2.2 Mailbox full, try later"
    worker = smtp_worker(database, tmp_path, database_url, smtp.port, max_attempts=3, backoff_base_seconds=60)
    message_id = ids["voll@example.test"]

    waits = []
    for attempt in (1, 2):
        await drain(worker)
        message = await row(database, message_id)
        assert (message.state, message.attempts) == ("pending", attempt)
        assert "451" in (message.last_error or "")
        waits.append((message.next_attempt_at - await db_now(database)).total_seconds())
        assert await worker.run_once() == 0  # not due yet
        await make_due(database)

    # Exponential with jitter: base·2^(n-1) scaled by 0.5 to 1.
    assert 25 <= waits[0] <= 61
    assert 55 <= waits[1] <= 121

    await drain(worker)
    message = await row(database, message_id)
    assert (message.state, message.attempts) == ("dead", 3)
    assert "451" in (message.last_error or "")
    await make_due(database)
    assert await worker.run_once() == 0
    assert smtp.recorder.received == []


async def test_one_refused_recipient_does_not_hold_up_the_others(database, database_url, tmp_path, smtp):
    await queue(database, ["a@example.test", "kaputt@example.test", "c@example.test", "tot@example.test"])
    smtp.recorder.rcpt_replies["kaputt@example.test"] = "451 4.3.0 Try again later"
    smtp.recorder.data_replies["tot@example.test"] = "554 5.7.1 Refused"
    worker = smtp_worker(database, tmp_path, database_url, smtp.port)

    assert await worker.run_once() == 4  # one batch

    assert smtp.recorder.recipients == ["a@example.test", "c@example.test"]
    assert await states(database) == Counter({"sent": 2, "pending": 1, "dead": 1})


async def test_message_id_is_derived_from_the_row_and_survives_retries(
    database, database_url, tmp_path, smtp
):
    ids = await queue(database, ["spaeter@example.test"])
    smtp.recorder.data_replies["spaeter@example.test"] = "451 4.3.0 Try again later"
    worker = smtp_worker(database, tmp_path, database_url, smtp.port)
    await drain(worker)

    del smtp.recorder.data_replies["spaeter@example.test"]
    await make_due(database)
    await drain(worker)

    (first,) = smtp.recorder.refused
    (delivered,) = smtp.recorder.received
    assert first.message_id == delivered.message_id
    assert str(ids["spaeter@example.test"]) in delivered.message_id
    assert delivered.message["From"] == SENDER
    assert delivered.rcpt_tos == ["spaeter@example.test"]


# --- Administration ------------------------------------------------------------------------------


async def test_admin_lists_dead_mail_and_retries_it(
    client, world: World, database, database_url, tmp_path, smtp
):
    ids = await queue(database, ["tot@example.test", "gut@example.test"])
    smtp.recorder.data_replies["tot@example.test"] = "550 5.1.1 Unknown user"
    worker = smtp_worker(database, tmp_path, database_url, smtp.port)
    await drain(worker)
    dead_id = str(ids["tot@example.test"])
    h = world.admin.headers

    r = await client.get(f"{API}/admin/outbox", headers=h, params={"state": "dead"})
    assert r.status_code == 200, r.text
    assert [(m["id"], m["recipient"]) for m in r.json()["items"]] == [(dead_id, "tot@example.test")]
    assert "550" in r.json()["items"][0]["last_error"]
    r = await client.get(f"{API}/admin/outbox", headers=h, params={"state": "sent"})
    assert [m["recipient"] for m in r.json()["items"]] == ["gut@example.test"]

    # A sent mail is not sent again on request.
    r = await client.post(f"{API}/admin/outbox/{ids['gut@example.test']}/retry", headers=h)
    assert r.status_code == 409, r.text
    r = await client.post(f"{API}/admin/outbox/{uuid.uuid4()}/retry", headers=h)
    assert r.status_code == 404, r.text

    del smtp.recorder.data_replies["tot@example.test"]
    r = await client.post(f"{API}/admin/outbox/{dead_id}/retry", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "pending" and r.json()["attempts"] == 0
    await drain(worker)

    assert smtp.recorder.to("tot@example.test")
    assert smtp.recorder.to("tot@example.test")[0].message_id == smtp.recorder.refused[0].message_id
    r = await client.get(f"{API}/admin/outbox", headers=h, params={"state": "dead"})
    assert r.json()["items"] == []
    assert (await row(database, ids["tot@example.test"])).state == "sent"


async def test_outbox_administration_is_for_admins_only(client, world: World, database):
    ids = await queue(database, ["x@example.test"])
    message_id = ids["x@example.test"]
    async with database.engine.begin() as conn:
        await conn.execute(text("UPDATE outbox SET state = 'dead' WHERE id = :id"), {"id": message_id})

    for caller in (world.employee_a, world.customer_user_x, world.insight_no_admin):
        r = await client.get(f"{API}/admin/outbox", headers=caller.headers)
        assert r.status_code == 403, r.text
        r = await client.post(f"{API}/admin/outbox/{message_id}/retry", headers=caller.headers)
        assert r.status_code == 403, r.text
    r = await client.get(f"{API}/admin/outbox")
    assert r.status_code == 401, r.text
    r = await client.post(f"{API}/admin/outbox/{message_id}/retry")
    assert r.status_code == 401, r.text
    assert (await row(database, message_id)).state == "dead"
    r = await client.get(f"{API}/admin/outbox", headers=world.admin.headers, params={"state": "bogus"})
    assert r.status_code == 422, r.text


# --- Without SMTP, and who runs the worker -------------------------------------------------------


async def test_without_smtp_host_each_mail_becomes_an_eml_file(database, database_url, tmp_path):
    ids = await queue(database, ["eins@example.test", "zwei@example.test", "drei@example.test"])
    settings = make_settings(tmp_path, database_url, smtp_from=SENDER)
    assert settings.smtp_host is None
    await drain(DeliveryWorker(database, settings, policy=fast_policy()))

    files = sorted(settings.mail_dir.glob("*.eml"))
    assert len(files) == 3
    assert sorted(p.name for p in settings.mail_dir.iterdir()) == sorted(
        p.name for p in files
    )  # no leftovers
    parsed = {
        str(msg["To"]): msg
        for msg in (email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files)
    }
    assert sorted(parsed) == sorted(ids)
    for recipient, msg in parsed.items():
        assert str(ids[recipient]) in msg["Message-ID"]
        assert msg["Subject"] == f"Hallo {recipient}"
    assert await states(database) == Counter({"sent": 3})


async def test_embedded_worker_delivers_by_itself(world: World, database, database_url, tmp_path, smtp):
    settings = make_settings(
        tmp_path,
        database_url,
        embedded_worker=True,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_from=SENDER,
    )
    application = create_app(settings, database)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.post(
                f"{API}/employees",
                headers=world.admin.headers,
                json={"email": "eingeladen@example.com", "name": "Ida Invite"},
            )
            assert r.status_code == 201, r.text
            # Nobody runs a worker here: the app's own one must deliver, and record it as sent.
            assert await eventually(lambda: smtp.recorder.to("eingeladen@example.com"), seconds=5)

            async def recorded_as_sent() -> bool:
                r = await c.get(f"{API}/admin/outbox", headers=world.admin.headers, params={"state": "sent"})
                return [m["recipient"] for m in r.json()["items"]] == ["eingeladen@example.com"]

            assert await eventually(recorded_as_sent, seconds=5)
    assert len(smtp.recorder.to("eingeladen@example.com")) == 1


async def test_worker_command_delivers_and_stops_on_sigterm(database, database_url, tmp_path, smtp):
    await queue(database, ["cli@example.test"])
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_FROM": SENDER,
        "BLINK_DATA_DIR": str(tmp_path / "data"),
        "BLINK_LOG_JSON": "false",
    }
    # cwd without a .env, so only this environment configures the process.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "blink_api", "worker", "--poll-seconds", "0.2",
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        arrived = await eventually(lambda: smtp.recorder.to("cli@example.test"), seconds=15)
        # The state is written just after the SMTP exchange.
        await eventually(lambda: _all_sent(database), seconds=5)
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), timeout=15)
    assert arrived, output.decode()
    assert await states(database) == Counter({"sent": 1}), output.decode()
    assert proc.returncode == 0, output.decode()
    assert len(smtp.recorder.received) == 1
