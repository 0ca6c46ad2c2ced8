"""The webhook delivery worker: claims due deliveries, then calls receivers without holding a row lock.

A claim is committed before any HTTP traffic (each attempt is made by one worker, however many run);
a worker that dies mid-call leaves its rows to be claimed again when their lease ends, with the same
`webhook-id`, so a receiver can tell a repeat. Each attempt resolves the receiver's host again and
connects only to an address it judged (`webhooks.addresses`); redirects are not followed, every phase
and the whole call have deadlines, and at most a few bytes of the answer are read. Deliveries run
side by side up to a bound, and a receiver gets only a few of them at once, so a slow or dead one never
holds up the others (and the mail worker is another task altogether).

Any 2xx is delivered; timeouts, connection errors, 429 and 5xx are tried again with exponential
backoff for more than 24 hours before the delivery is dead; 410 disables the subscription; any other
answer fails the delivery (an administrator may retry it).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import text

from blink_api import __version__
from blink_api.kit.config import Settings
from blink_api.kit.db import Database, database_unavailable
from blink_api.kit.periodic import pause
from blink_api.webhooks import addresses, signing

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    lease_seconds: int = 120
    max_attempts: int = 16
    backoff_base_seconds: float = 30.0
    backoff_max_seconds: float = 4 * 3600.0
    connect_timeout_seconds: float = 5.0
    total_timeout_seconds: float = 15.0
    max_response_bytes: int = 16 * 1024
    concurrency: int = 16  # attempts in flight per worker
    per_receiver: int = 4  # attempts in flight per subscription, per worker

    def delay(self, attempts: int) -> float:
        """The least wait after the `attempts`-th failed attempt (jitter only adds to it)."""
        return min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** (attempts - 1))


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: uuid.UUID
    payload: str
    attempts: int
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Literal["delivered", "retry", "failed", "gone"]
    status_code: int | None = None
    error: str | None = None


_CLAIM = text(
    """
    WITH busy AS (
        SELECT webhook_id, count(*) AS n FROM webhook_deliveries
        WHERE status = 'sending' AND lease_until >= now()
        GROUP BY webhook_id
    ), due AS (
        SELECT d.id, d.next_attempt_at,
               row_number() OVER (PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id)
                 + coalesce(b.n, 0) AS place
        FROM webhook_deliveries d
        JOIN webhooks w ON w.id = d.webhook_id AND w.active
        LEFT JOIN busy b ON b.webhook_id = d.webhook_id
        WHERE (d.status = 'pending' AND d.next_attempt_at <= now())
           OR (d.status = 'sending' AND d.lease_until < now())
    ), picked AS (
        SELECT id FROM webhook_deliveries
        WHERE id IN (SELECT id FROM due WHERE place <= :per_receiver)
          AND ((status = 'pending' AND next_attempt_at <= now())
               OR (status = 'sending' AND lease_until < now()))
        ORDER BY next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE webhook_deliveries d
    SET status = 'sending', attempts = d.attempts + 1,
        lease_until = now() + make_interval(secs => :lease)
    FROM picked, webhooks w
    WHERE d.id = picked.id AND w.id = d.webhook_id
    RETURNING d.id, d.webhook_id, d.event_id, d.payload, d.attempts, w.url, w.secret
    """
)

_FINISH = text(
    """
    UPDATE webhook_deliveries
    SET status = :status, lease_until = NULL, last_status_code = :code, last_error = :error,
        delivered_at = CASE WHEN :delivered THEN now() END
    WHERE id = :id AND status = 'sending' AND attempts = :attempts
    """
)

_RETRY_LATER = text(
    """
    UPDATE webhook_deliveries
    SET status = 'pending', lease_until = NULL, last_status_code = :code, last_error = :error,
        next_attempt_at = now() + make_interval(secs => :delay)
    WHERE id = :id AND status = 'sending' AND attempts = :attempts
    """
)

_DISABLE = text(
    "UPDATE webhooks SET active = false, disabled_reason = :reason, updated_at = now() WHERE id = :id"
)

USER_AGENT = f"Blink-Webhooks/{__version__}"


class WebhookSender:
    """One attempt: resolve and check the address, connect to it, POST the signed body."""

    def __init__(self, settings: Settings, policy: WebhookPolicy) -> None:
        self.settings = settings
        self.policy = policy
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: it would connect instead of us
            timeout=httpx.Timeout(policy.total_timeout_seconds, connect=policy.connect_timeout_seconds),
            # One connection per attempt: never one made for another name on the same address.
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, delivery: ClaimedDelivery) -> Outcome:
        try:
            async with asyncio.timeout(self.policy.total_timeout_seconds):
                return await self._send(delivery)
        except TimeoutError:
            return Outcome("retry", error=f"no answer within {self.policy.total_timeout_seconds:g} s")

    async def _send(self, delivery: ClaimedDelivery) -> Outcome:
        allow = self.settings.webhook_allow_private_networks
        try:
            target = await addresses.resolve(
                delivery.url, allow_private=allow, resolve_seconds=self.policy.connect_timeout_seconds
            )
        except addresses.RefusedAddress as exc:
            return Outcome("retry", error=str(exc))
        parts = urlsplit(delivery.url)
        shown = f"[{target.address}]" if target.address.version == 6 else str(target.address)
        url = urlunsplit((parts.scheme, f"{shown}:{target.port}", parts.path or "/", parts.query, ""))
        body = delivery.payload.encode()
        headers = {
            "host": parts.netloc,
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **signing.headers(delivery.secret, str(delivery.event_id), int(time.time()), delivery.payload),
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            request = self._client.build_request(
                "POST", url, content=body, headers=headers, extensions=extensions
            )
            response = await self._client.send(request, stream=True)
            try:
                answer = await self._read_some(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            return Outcome("retry", error=f"timeout: {type(exc).__name__}")
        except httpx.TransportError as exc:
            return Outcome("retry", error=f"connection failed: {exc or type(exc).__name__}")
        code = response.status_code
        if 200 <= code < 300:
            return Outcome("delivered", status_code=code)
        error = f"HTTP {code}" + (f": {answer}" if answer else "")
        if code == 410:
            return Outcome("gone", status_code=code, error=error)
        if code == 429 or code >= 500:
            return Outcome("retry", status_code=code, error=error)
        if 300 <= code < 400:
            error = f"HTTP {code} redirect to {response.headers.get('location', '?')!r} (not followed)"
        return Outcome("failed", status_code=code, error=error)

    async def _read_some(self, response: httpx.Response) -> str:
        """The beginning of the answer, for the delivery log: never more than the bound is read."""
        limit = self.policy.max_response_bytes
        read = bytearray()
        async for chunk in response.aiter_raw():
            read += chunk
            if len(read) >= limit:
                break
        return bytes(read[:200]).decode("utf-8", "replace").strip()


class WebhookWorker:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        policy: WebhookPolicy | None = None,
        sender: WebhookSender | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.policy = policy or WebhookPolicy()
        self.sender = sender or WebhookSender(settings, self.policy)

    @staticmethod
    def database_for(url: str, settings: Settings) -> Database:
        """A small pool of its own: recording outcomes never waits on the request pool or the mail."""
        return Database.from_settings(url, settings, pool_size=2, max_overflow=6)

    async def aclose(self) -> None:
        await self.sender.aclose()

    async def claim(self, limit: int) -> list[ClaimedDelivery]:
        async with self.database.sessionmaker.begin() as session:
            rows = await session.execute(
                _CLAIM,
                {
                    "lease": self.policy.lease_seconds,
                    "limit": limit,
                    "per_receiver": self.policy.per_receiver,
                },
            )
            return [ClaimedDelivery(**row) for row in rows.mappings()]

    async def run_once(self) -> int:
        """Claim and deliver one batch; returns how many deliveries were claimed."""
        batch = await self.claim(self.policy.concurrency)
        if batch:
            await asyncio.gather(*(self.deliver(d) for d in batch))
        return len(batch)

    async def deliver(self, delivery: ClaimedDelivery) -> None:
        try:
            outcome = await self.sender.send(delivery)
        except Exception as exc:  # one broken delivery must never stop the others
            log.exception("webhook delivery failed", extra={"delivery_id": str(delivery.id)})
            outcome = Outcome("retry", error=f"{type(exc).__name__}: {exc}")
        try:
            await self._record(delivery, outcome)
        except Exception:  # the lease runs out and the delivery is claimed again
            log.exception("webhook outcome not recorded", extra={"delivery_id": str(delivery.id)})

    async def _record(self, delivery: ClaimedDelivery, outcome: Outcome) -> None:
        key = {"id": delivery.id, "attempts": delivery.attempts, "code": outcome.status_code}
        async with self.database.sessionmaker.begin() as session:
            if outcome.kind == "retry" and delivery.attempts < self.policy.max_attempts:
                delay = self.policy.delay(delivery.attempts) * random.uniform(1.0, 1.2)  # noqa: S311 - jitter
                await session.execute(_RETRY_LATER, {**key, "error": outcome.error, "delay": delay})
                return
            if outcome.kind == "retry":
                status, error = "dead", f"gave up after {delivery.attempts} attempts: {outcome.error}"
            elif outcome.kind == "gone":
                status, error = "failed", outcome.error
                await session.execute(
                    _DISABLE,
                    {
                        "id": delivery.webhook_id,
                        "reason": "The receiver answered 410 Gone; deliveries stopped.",
                    },
                )
            else:
                status, error = outcome.kind, outcome.error
            await session.execute(
                _FINISH, {**key, "status": status, "error": error, "delivered": status == "delivered"}
            )

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Keep up to `concurrency` attempts in flight, claiming more as earlier ones end."""
        log.info("webhook delivery worker started")
        running: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                free = self.policy.concurrency - len(running)
                claimed: list[ClaimedDelivery] = []
                if free > 0:
                    try:
                        claimed = await self.claim(free)
                    except Exception as exc:
                        if database_unavailable(exc):
                            log.warning("webhook round skipped: database unavailable (%s)", exc)
                        else:
                            log.exception("webhook round failed")
                for delivery in claimed:
                    task = asyncio.create_task(self.deliver(delivery))
                    running.add(task)
                    task.add_done_callback(running.discard)
                if not claimed:
                    await pause(stop, poll_seconds)
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            await self.aclose()
            log.info("webhook delivery worker stopped")
