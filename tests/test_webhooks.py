"""Webhooks against a real HTTP receiver on 127.0.0.1: signed deliveries, retries, 410, redirects,
timeouts, several workers; the address rules on the check itself (no test sends a packet anywhere else).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import standardwebhooks
from sqlalchemy import func, select, text

from blink_api.identity.principals import EmployeePrincipal
from blink_api.notifications.events import Event, publish
from blink_api.tickets import service as tickets
from blink_api.webhooks import addresses, signing
from blink_api.webhooks.delivery import WebhookPolicy, WebhookWorker
from blink_api.webhooks.models import WebhookDelivery
from tests.forms_helpers import make_manager, published, submit, template_body, ticket_element
from tests.kit import API, assert_problem, new_ticket
from tests.smtp import eventually

# -- a receiver ------------------------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Receiver:
    """An HTTP/1.1 server on 127.0.0.1 answering each POST with the next scripted answer (then 200),
    verifying every signature itself with the secret it is given."""

    secret: str | None = None
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _verify(self, headers: dict[str, str], body: bytes) -> bool:
        if self.secret is None:
            return False
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        fresh = abs(time.time() - int(headers["webhook-timestamp"])) < 300
        mine = fresh and any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())
        # And as a receiver using the reference library would.
        try:
            standardwebhooks.Webhook(self.secret).verify(body, headers)
        except standardwebhooks.WebhookVerificationError:
            return False
        return mine

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")[1:]
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.received.append(Received(headers, body, self._verify(headers, body)))
            status, extra = self.script.pop(0) if self.script else (200, {})
            if self.delay:
                await asyncio.sleep(self.delay)
            answer = f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n"
            answer += "".join(f"{k}: {v}\r\n" for k, v in extra.items())
            writer.write(answer.encode() + b"\r\nok")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def ids(self) -> Counter[str]:
        return Counter(r.headers["webhook-id"] for r in self.received)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()


@pytest.fixture
def allow_private(ctx, monkeypatch):
    monkeypatch.setattr(ctx.settings, "webhook_allow_private_networks", True)


def fast(**overrides: Any) -> WebhookPolicy:
    values: dict[str, Any] = {
        "backoff_base_seconds": 0.01,
        "backoff_max_seconds": 0.02,
        "total_timeout_seconds": 3.0,
        "connect_timeout_seconds": 2.0,
    }
    return WebhookPolicy(**{**values, **overrides})


async def subscribe(client, world, receiver: Receiver, events: list[str], **fields: Any) -> dict[str, Any]:
    body = {"url": receiver.url, "events": events, **fields}
    r = await client.post(f"{API}/webhooks", headers=world.admin.headers, json=body)
    assert r.status_code == 201, r.text
    receiver.secret = r.json()["secret"]
    return r.json()


async def drain(worker: WebhookWorker, rounds: int = 200) -> None:
    """Run the worker until nothing is due and nothing is pending."""
    for _ in range(rounds):
        await worker.run_once()
        async with worker.database.sessionmaker() as s:
            left = await s.scalar(
                select(func.count()).where(WebhookDelivery.status.in_(["pending", "sending"]))
            )
        if not left:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("deliveries never settled")


async def as_admin(session, world, ticket_id: str):
    """The ticket as the application loads it for an administrator."""
    admin = EmployeePrincipal(
        id=world.admin.id,
        email=world.admin.email,
        name="Admin",
        is_admin=True,
        tenant_ids=frozenset({world.tenant_a.id, world.tenant_b.id}),
        permissions=frozenset(),
    )
    return await tickets.get_ticket(session, admin, uuid.UUID(ticket_id))


async def deliveries(client, world, webhook_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"{API}/webhooks/{webhook_id}/deliveries", headers=world.admin.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


# -- signatures and addresses -----------------------------------------------------------------------


def test_signatures_reproduce_the_published_standard_webhooks_vector():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert signing.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    assert signing.sign(secret, "msg_other", 1614265330, body) != expected
    assert signing.new_secret() != signing.new_secret()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "169.254.170.2",
        "169.254.10.20",
        "100.64.0.1",
        "100.100.100.200",
        "0.0.0.0",  # noqa: S104 - an address under test, not bound
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
    ],
)
def test_local_private_and_metadata_addresses_are_refused(address):
    assert addresses.why_not_address(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert addresses.why_not_address(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://localhost/hook",  # resolved by this machine's resolver: loopback
        "http://93.184.216.34/hook",  # public, but not https
        "https://user:pw@93.184.216.34/",
        "ftp://93.184.216.34/",
        "https:///nohost",
    ],
)
async def test_the_address_check_refuses_without_the_setting(url):
    with pytest.raises(addresses.RefusedAddress):
        await addresses.resolve(url, allow_private=False)


async def test_the_setting_allows_local_http():
    target = await addresses.resolve("http://127.0.0.1:8080/x", allow_private=True)
    assert str(target.address) == "127.0.0.1" and target.port == 8080
    public = await addresses.resolve("https://93.184.216.34/x", allow_private=False)
    assert public.port == 443


def test_retries_last_more_than_a_day():
    policy = WebhookPolicy()
    waits = sum(policy.delay(attempt) for attempt in range(1, policy.max_attempts))
    assert waits >= 24 * 3600


# -- the API ----------------------------------------------------------------------------------------


async def test_a_webhook_to_loopback_is_refused_without_the_setting(client, world):
    for url in ("https://127.0.0.1/hook", "http://127.0.0.1:9/hook", "https://169.254.169.254/"):
        r = await client.post(
            f"{API}/webhooks", headers=world.admin.headers, json={"url": url, "events": ["ticket.created"]}
        )
        assert_problem(r, 422, ["body", "url"])


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34/a\nb",
        "https://93.184.216.34/ok\r\nX-Injected: yes",
        "https://93.184.216.34/a b",
        "https://93.184.216.34/ok\x7f",
        "https://93.184.216.34/a\u2028b",
        "https://93.184.216\t.34/",
    ],
)
async def test_a_webhook_url_with_white_space_or_control_characters_is_refused(client, world, url):
    r = await client.post(
        f"{API}/webhooks", headers=world.admin.headers, json={"url": url, "events": ["ticket.created"]}
    )
    assert_problem(r, 422, ["body", "url"])
    assert (await client.get(f"{API}/webhooks", headers=world.admin.headers)).json()["items"] == []
    # Even under the development setting, and for a URL stored before the rule (checked at delivery).
    assert addresses.why_not_url(url, allow_private=True) is not None


async def test_only_administrators_manage_webhooks(client, world):
    body = {"url": "https://93.184.216.34/hook", "events": ["ticket.created"]}
    for actor in (world.employee_a, world.customer_user_x, world.insight_no_admin):
        assert_problem(await client.post(f"{API}/webhooks", headers=actor.headers, json=body), 403)
        assert_problem(await client.get(f"{API}/webhooks", headers=actor.headers), 403)
        assert_problem(await client.get(f"{API}/webhooks/{uuid.uuid4()}", headers=actor.headers), 403)
    assert_problem(await client.get(f"{API}/webhooks"), 401)


async def test_the_secret_is_shown_once_and_the_subscription_is_managed(
    client, world, allow_private, receiver
):
    created = await subscribe(
        client, world, receiver, ["ticket.created", "ticket.sla_breached"], description="ERP"
    )
    assert created["secret"].startswith("whsec_") and len(base64.b64decode(created["secret"][6:])) == 32
    assert created["active"] is True and created["tenant_ids"] == [] and created["customer_ids"] == []
    url = f"{API}/webhooks/{created['id']}"
    read = (await client.get(url, headers=world.admin.headers)).json()
    assert "secret" not in read and read["events"] == ["ticket.created", "ticket.sla_breached"]
    listed = (await client.get(f"{API}/webhooks", headers=world.admin.headers)).json()["items"]
    assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]

    r = await client.patch(
        url,
        headers=world.admin.headers,
        json={"events": ["ticket.closed"], "tenant_ids": [str(world.tenant_a.id)]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["events"] == ["ticket.closed"] and r.json()["tenant_ids"] == [str(world.tenant_a.id)]
    assert_problem(
        await client.patch(url, headers=world.admin.headers, json={"events": ["ticket.exploded"]}), 422
    )
    assert_problem(
        await client.patch(url, headers=world.admin.headers, json={"customer_ids": [str(uuid.uuid4())]}),
        422,
        ["body", "customer_ids", 0],
    )
    assert_problem(await client.patch(url, headers=world.admin.headers, json={"url": "ftp://x/"}), 422)

    assert (await client.delete(url, headers=world.admin.headers)).status_code == 204
    assert_problem(await client.get(url, headers=world.admin.headers), 404)
    assert_problem(await client.post(f"{url}/ping", headers=world.admin.headers), 404)


# -- deliveries -------------------------------------------------------------------------------------


async def test_a_ticket_event_is_delivered_signed_with_the_resource_as_an_admin_reads_it(
    client, world, database, ctx, allow_private, receiver
):
    hook = await subscribe(
        client, world, receiver, ["ticket.created", "ticket.comment_added", "ticket.closed"]
    )
    ticket = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    r = await client.post(
        f"{API}/tickets/{ticket['id']}/comments",
        headers=world.employee_a.headers,
        json={"body": "Nur intern", "internal": True},
    )
    assert r.status_code == 201, r.text
    comment = r.json()
    r = await client.patch(
        f"{API}/tickets/{ticket['id']}", headers=world.employee_a.headers, json={"status": "closed"}
    )
    assert r.status_code == 200, r.text

    await drain(WebhookWorker(database, ctx.settings, policy=fast()))
    # Deliveries to one receiver may run side by side: they are matched by type, not arrival order.
    arrived = {json.loads(x.body)["type"]: x for x in receiver.received}
    assert len(receiver.received) == 3
    assert set(arrived) == {"ticket.created", "ticket.comment_added", "ticket.closed"}
    assert all(x.verified for x in receiver.received)
    first = arrived["ticket.created"]
    payload = json.loads(first.body)
    assert set(payload) == {"id", "type", "created_at", "data"}
    assert first.headers["webhook-id"] == payload["id"]
    assert first.headers["content-type"] == "application/json"
    # The ticket as it was created; an administrator's read of it now differs only by what changed since.
    admin_view = (await client.get(f"{API}/tickets/{ticket['id']}", headers=world.admin.headers)).json()
    assert payload["data"]["id"] == ticket["id"] and set(payload["data"]) == set(admin_view)
    assert payload["data"]["status"] == "open"
    assert json.loads(arrived["ticket.closed"].body)["data"] == admin_view
    # Administrators see internal notes: so does the webhook.
    assert json.loads(arrived["ticket.comment_added"].body)["data"] == comment

    log = await deliveries(client, world, hook["id"])
    assert {d["status"] for d in log} == {"delivered"} and {d["attempts"] for d in log} == {1}
    assert all(d["last_status_code"] == 200 and d["next_attempt_at"] is None for d in log)


async def test_filters_restrict_events_to_tenants_and_customers(client, world, database, ctx, allow_private):
    receivers = [await Receiver().start() for _ in range(3)]
    try:
        await subscribe(client, world, receivers[0], ["ticket.created"], tenant_ids=[str(world.tenant_b.id)])
        await subscribe(
            client, world, receivers[1], ["ticket.created"], customer_ids=[str(world.customer_x.id)]
        )
        await subscribe(client, world, receivers[2], ["ticket.updated"])
        await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
        await new_ticket(client, world.employee_b, world.site_b1, world.type_b)
        await drain(WebhookWorker(database, ctx.settings, policy=fast()))
        site_of = [[json.loads(x.body)["data"]["site_id"] for x in r.received] for r in receivers]
        assert site_of == [[str(world.site_b1.id)], [str(world.site_a1.id)], []]
    finally:
        for r in receivers:
            await r.stop()


async def test_a_rolled_back_change_delivers_nothing(client, world, database, allow_private, receiver):
    await subscribe(client, world, receiver, ["ticket.created"])
    ticket = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    async with database.sessionmaker() as s:
        before = await s.scalar(select(func.count()).select_from(WebhookDelivery))
        row = await as_admin(s, world, ticket["id"])
        await publish(s, Event("ticket.created", row.site_id, row))
        assert await s.scalar(select(func.count()).select_from(WebhookDelivery)) == before + 1
        await s.rollback()
    async with database.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(WebhookDelivery)) == before


async def test_a_failing_request_writes_no_delivery(client, world, database, allow_private, receiver):
    await subscribe(client, world, receiver, ["ticket.updated"])
    ticket = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    r = await client.patch(
        f"{API}/tickets/{ticket['id']}",
        headers={**world.employee_a.headers, "If-Match": '"999"'},
        json={"title": "Neu"},
    )
    assert r.status_code == 412
    async with database.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


async def test_server_errors_are_retried_with_the_same_webhook_id_until_delivered(
    client, world, database, ctx, allow_private, receiver
):
    hook = await subscribe(client, world, receiver, ["ticket.created"])
    receiver.script = [(500, {}), (503, {}), (429, {})]
    await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    await drain(WebhookWorker(database, ctx.settings, policy=fast()))
    assert len(receiver.received) == 4 and len(receiver.ids()) == 1
    assert all(x.verified for x in receiver.received)
    (log,) = await deliveries(client, world, hook["id"])
    assert log["status"] == "delivered" and log["attempts"] == 4 and log["last_error"] is None


async def test_retries_end_dead_after_the_last_attempt(client, world, database, ctx, allow_private, receiver):
    hook = await subscribe(client, world, receiver, ["ticket.created"])
    receiver.script = [(502, {})] * 3
    await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    await drain(WebhookWorker(database, ctx.settings, policy=fast(max_attempts=3)))
    (log,) = await deliveries(client, world, hook["id"])
    assert log["status"] == "dead" and log["attempts"] == 3 and log["last_status_code"] == 502
    # An administrator sends it again: same webhook-id, and this time it arrives.
    r = await client.post(
        f"{API}/webhooks/{hook['id']}/deliveries/{log['id']}/retry", headers=world.admin.headers
    )
    assert r.status_code == 202 and r.json()["status"] == "pending"
    assert_problem(
        await client.post(
            f"{API}/webhooks/{hook['id']}/deliveries/{log['id']}/retry", headers=world.admin.headers
        ),
        409,
    )
    await drain(WebhookWorker(database, ctx.settings, policy=fast()))
    assert len(receiver.ids()) == 1 and receiver.ids().most_common(1)[0][1] == 4
    (log,) = await deliveries(client, world, hook["id"])
    assert log["status"] == "delivered"
    assert_problem(
        await client.post(
            f"{API}/webhooks/{hook['id']}/deliveries/{uuid.uuid4()}/retry", headers=world.admin.headers
        ),
        404,
    )


async def test_410_disables_the_subscription(client, world, database, ctx, allow_private, receiver):
    hook = await subscribe(client, world, receiver, ["ticket.created"])
    receiver.script = [(410, {})]
    await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    await drain(WebhookWorker(database, ctx.settings, policy=fast()))
    read = (await client.get(f"{API}/webhooks/{hook['id']}", headers=world.admin.headers)).json()
    assert read["active"] is False and "410" in read["disabled_reason"]
    (log,) = await deliveries(client, world, hook["id"])
    assert log["status"] == "failed" and log["last_status_code"] == 410
    # Nothing more is queued or sent while it is disabled.
    await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    await drain(WebhookWorker(database, ctx.settings, policy=fast()))
    assert len(receiver.received) == 1 and len(await deliveries(client, world, hook["id"])) == 1
    assert_problem(await client.post(f"{API}/webhooks/{hook['id']}/ping", headers=world.admin.headers), 409)
    r = await client.patch(f"{API}/webhooks/{hook['id']}", headers=world.admin.headers, json={"active": True})
    assert r.json()["active"] is True and r.json()["disabled_reason"] is None


async def test_a_redirect_is_not_followed(client, world, database, ctx, allow_private, receiver):
    elsewhere = await Receiver().start()
    try:
        hook = await subscribe(client, world, receiver, ["ticket.created"])
        receiver.script = [(307, {"Location": elsewhere.url})]
        await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
        await drain(WebhookWorker(database, ctx.settings, policy=fast()))
        assert len(receiver.received) == 1 and elsewhere.received == []
        (log,) = await deliveries(client, world, hook["id"])
        assert log["status"] == "failed" and log["last_status_code"] == 307
        assert "not followed" in log["last_error"]
    finally:
        await elsewhere.stop()


async def test_a_receiver_that_does_not_answer_in_time_is_tried_again(
    client, world, database, ctx, allow_private, receiver
):
    hook = await subscribe(client, world, receiver, ["ticket.created"])
    receiver.delay = 5.0
    await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    worker = WebhookWorker(
        database, ctx.settings, policy=fast(total_timeout_seconds=0.3, backoff_base_seconds=60)
    )
    started = time.monotonic()
    assert await worker.run_once() == 1
    # Given up long before the receiver would have answered.
    assert time.monotonic() - started < receiver.delay / 2
    (log,) = await deliveries(client, world, hook["id"])
    assert log["status"] == "pending" and log["attempts"] == 1 and log["last_status_code"] is None
    assert "0.3 s" in log["last_error"] and log["next_attempt_at"] is not None
    await worker.aclose()


async def test_the_address_is_checked_again_at_delivery(
    client, world, database, ctx, allow_private, monkeypatch, receiver
):
    hook = await subscribe(client, world, receiver, ["ticket.created"])
    await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    monkeypatch.setattr(ctx.settings, "webhook_allow_private_networks", False)
    worker = WebhookWorker(database, ctx.settings, policy=fast(backoff_base_seconds=60))
    assert await worker.run_once() == 1
    await worker.aclose()
    assert receiver.received == []
    (log,) = await deliveries(client, world, hook["id"])
    assert log["status"] == "pending" and "must use https" in log["last_error"]


async def test_ping_sends_the_subscription(client, world, database, ctx, allow_private, receiver):
    hook = await subscribe(client, world, receiver, ["ticket.created"])
    r = await client.post(f"{API}/webhooks/{hook['id']}/ping", headers=world.admin.headers)
    assert r.status_code == 202 and r.json()["type"] == "webhook.ping", r.text
    await drain(WebhookWorker(database, ctx.settings, policy=fast()))
    (got,) = receiver.received
    payload = json.loads(got.body)
    assert got.verified and payload["type"] == "webhook.ping" and payload["data"]["id"] == hook["id"]
    assert "secret" not in payload["data"] and got.headers["webhook-id"] == r.json()["event_id"]


async def test_two_workers_deliver_each_of_200_events_once(
    client, world, database, ctx, allow_private, receiver
):
    await subscribe(client, world, receiver, ["ticket.updated"])
    ticket = await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
    async with database.sessionmaker.begin() as s:
        row = await as_admin(s, world, ticket["id"])
        for _ in range(200):
            await publish(s, Event("ticket.updated", row.site_id, row))
    stop = asyncio.Event()
    policy = fast(concurrency=8, per_receiver=8)
    workers = [WebhookWorker(database, ctx.settings, policy=policy) for _ in range(2)]
    tasks = [asyncio.create_task(w.run(stop, poll_seconds=0.05)) for w in workers]
    try:
        assert await eventually(lambda: len(receiver.received) >= 200, seconds=30)
        await asyncio.sleep(0.3)  # anything sent twice would have arrived by now
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    counts = receiver.ids()
    assert len(counts) == 200 and set(counts.values()) == {1}
    assert all(x.verified for x in receiver.received)
    async with database.sessionmaker() as s:
        states = dict(
            (await s.execute(text("SELECT status, count(*) FROM webhook_deliveries GROUP BY status"))).all()
        )
    assert states == {"delivered": 200}


async def test_a_slow_receiver_does_not_hold_up_another(
    client, world, database, ctx, allow_private, receiver
):
    slow = await Receiver(delay=5.0).start()
    try:
        await subscribe(client, world, slow, ["ticket.created"])
        await subscribe(client, world, receiver, ["ticket.created"])
        for _ in range(3):
            await new_ticket(client, world.employee_a, world.site_a1, world.type_a)
        stop = asyncio.Event()
        worker = WebhookWorker(database, ctx.settings, policy=fast(per_receiver=2))
        task = asyncio.create_task(worker.run(stop, poll_seconds=0.05))
        started = time.monotonic()
        try:
            assert await eventually(lambda: len(receiver.received) == 3, seconds=10)
            # All three arrived long before the slow receiver answered its first.
            assert time.monotonic() - started < slow.delay / 2
        finally:
            stop.set()
            await task
    finally:
        await slow.stop()


async def test_attachments_and_form_completions_are_delivered(
    client, world, database, ctx, allow_private, receiver
):
    await subscribe(
        client,
        world,
        receiver,
        ["ticket.created", "ticket.attachment_added", "form_submission.completed"],
    )
    manager = await make_manager(ctx, world)
    template = await published(client, manager, template_body([ticket_element(world.type_a.id)]))
    r = await submit(client, manager, template["id"], world.site_a1.id, {"nachreinigung": {}}, complete=True)
    assert r.status_code == 201, r.text
    submission = r.json()
    (ticket_id,) = submission["ticket_ids"]
    r = await client.post(
        f"{API}/tickets/{ticket_id}/attachments",
        headers=world.employee_a.headers,
        files=[("files", ("notiz.txt", b"Schluessel beim Hausmeister", "text/plain"))],
    )
    assert r.status_code == 201, r.text
    added = r.json()["items"][0]

    await drain(WebhookWorker(database, ctx.settings, policy=fast()))
    got = [json.loads(x.body) for x in receiver.received]
    # Events of one transaction carry one timestamp: their order among themselves is not promised.
    assert sorted(p["type"] for p in got) == [
        "form_submission.completed",
        "ticket.attachment_added",  # the filled form's PDF
        "ticket.attachment_added",  # the note added afterwards
        "ticket.created",
    ]
    assert all(x.verified for x in receiver.received)
    by_type: dict[str, list[dict]] = {}
    for payload in got:
        by_type.setdefault(payload["type"], []).append(payload["data"])
    assert by_type["ticket.created"][0]["id"] == ticket_id
    pdf, note = sorted(
        by_type["ticket.attachment_added"], key=lambda a: a["content_type"] != "application/pdf"
    )
    assert pdf["ticket_id"] == ticket_id and pdf["content_type"] == "application/pdf"
    assert note == added
    admin_view = await client.get(f"{API}/form-submissions/{submission['id']}", headers=world.admin.headers)
    assert admin_view.status_code == 200, admin_view.text
    assert by_type["form_submission.completed"][0] == admin_view.json()


async def test_completions_of_forms_about_no_site_reach_subscriptions_not_narrowed_to_a_tenant(
    client, world, database, ctx, allow_private, receiver
):
    narrowed = [
        await subscribe(
            client, world, receiver, ["form_submission.completed"], tenant_ids=[str(world.tenant_a.id)]
        ),
        await subscribe(
            client, world, receiver, ["form_submission.completed"], customer_ids=[str(world.customer_x.id)]
        ),
    ]
    # Subscribed last: the receiver checks signatures with its secret.
    everything = await subscribe(client, world, receiver, ["form_submission.completed"])
    manager = await make_manager(ctx, world)
    fields = [{"key": "thema", "type": "text", "label": "Thema", "required": True}]
    training = await published(client, manager, template_body(fields, name="Unterweisung", subject="none"))
    r = await client.post(
        f"{API}/form-submissions",
        headers=manager.headers,
        json={"template_id": training["id"], "answers": {"thema": "Leitern"}, "complete": True},
    )
    assert r.status_code == 201, r.text
    internal = r.json()
    questionnaire = await published(
        client, manager, template_body(fields, name="Fragebogen", subject="none", is_public=True)
    )
    r = await client.post(
        f"{API}/public/forms/{questionnaire['public_token']}/submissions", json={"answers": {"thema": "Ja"}}
    )
    assert r.status_code == 201, r.text
    public = r.json()

    await drain(WebhookWorker(database, ctx.settings, policy=fast()))
    got = [json.loads(x.body) for x in receiver.received]
    assert all(x.verified for x in receiver.received)
    assert sorted(p["data"]["id"] for p in got) == sorted([internal["id"], public["id"]])
    assert {p["type"] for p in got} == {"form_submission.completed"}
    assert all(p["data"]["site_id"] is None for p in got)
    async with database.sessionmaker() as s:
        per_webhook = Counter(await s.scalars(select(WebhookDelivery.webhook_id)))
    assert per_webhook == {uuid.UUID(everything["id"]): 2}
    assert all(uuid.UUID(w["id"]) not in per_webhook for w in narrowed)
