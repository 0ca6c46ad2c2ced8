"""The delivery worker: claims due outbox rows, then sends them without holding a row lock.

A claim is committed before any SMTP traffic; a worker that dies mid-send leaves its rows to be
claimed again when their lease ends. Temporary failures back off exponentially with jitter;
permanent ones and rows past the attempt limit go dead. Mails are written as `.eml` files when no
SMTP server is configured.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path

import aiosmtplib
from sqlalchemy import text

from blink_api.kit.config import Settings
from blink_api.kit.db import Database, database_unavailable
from blink_api.kit.idempotency import forget_expired
from blink_api.kit.periodic import pause

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    lease_seconds: int = 120
    max_attempts: int = 8
    backoff_base_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0
    batch_size: int = 20


@dataclass(frozen=True, slots=True)
class ClaimedMail:
    id: uuid.UUID
    recipient: str
    subject: str
    body_text: str
    body_html: str
    attempts: int
    created_at: datetime


class PermanentFailure(Exception):
    pass


class TemporaryFailure(Exception):
    pass


_CLAIM = text(
    """
    UPDATE outbox SET state = 'sending', attempts = attempts + 1,
                      lease_until = now() + make_interval(secs => :lease)
    WHERE id IN (
        SELECT id FROM outbox
        WHERE (state = 'pending' AND next_attempt_at <= now())
           OR (state = 'sending' AND lease_until < now())
        ORDER BY next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED)
    RETURNING id, recipient, subject, body_text, body_html, attempts, created_at
    """
)


def message_id(mail_id: uuid.UUID, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "blink.invalid"
    return f"<{mail_id}@{domain}>"


def build_message(mail: ClaimedMail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.recipient
    msg["Subject"] = " ".join(mail.subject.split())
    msg["Date"] = format_datetime(mail.created_at.astimezone(UTC))
    msg["Message-ID"] = message_id(mail.id, sender)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.body_text)
    msg.add_alternative(mail.body_html, subtype="html")
    return msg


class MailSender:
    """SMTP when `SMTP_HOST` is set, else `.eml` files in the mail folder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        if not self.settings.smtp_host:
            await asyncio.to_thread(self._write_file, message)
            return
        try:
            await aiosmtplib.send(
                message,
                hostname=self.settings.smtp_host,
                port=self.settings.smtp_port,
                username=self.settings.smtp_username,
                password=self.settings.smtp_password,
                start_tls=self.settings.smtp_starttls,
                timeout=30,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # The one recipient was refused at RCPT TO: its reply code says whether to try again.
            code = exc.recipients[0].code if exc.recipients else 451
            failure = PermanentFailure if 500 <= code < 600 else TemporaryFailure
            raise failure(str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentFailure(f"{exc.code} {exc.message}") from exc
            raise TemporaryFailure(f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryFailure(str(exc) or type(exc).__name__) from exc

    def _write_file(self, message: EmailMessage) -> None:
        folder: Path = self.settings.mail_dir
        folder.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").partition("@")[0]
        tmp = folder / f".{name}.eml.tmp"
        tmp.write_bytes(bytes(message))
        tmp.replace(folder / f"{name}.eml")


class DeliveryWorker:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        policy: DeliveryPolicy | None = None,
        sender: MailSender | None = None,
        on_outcome: object | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.policy = policy or DeliveryPolicy()
        self.sender = sender or MailSender(settings)
        self._on_outcome = on_outcome

    @staticmethod
    def database_for(url: str, settings: Settings) -> Database:
        """A small pool of the worker's own, with the same timeouts as the request pool."""
        return Database.from_settings(url, settings, pool_size=2, max_overflow=2)

    async def claim(self) -> list[ClaimedMail]:
        async with self.database.sessionmaker.begin() as session:
            rows = await session.execute(
                _CLAIM, {"lease": self.policy.lease_seconds, "limit": self.policy.batch_size}
            )
            return [ClaimedMail(**row) for row in rows.mappings()]

    async def run_once(self) -> int:
        """Claim and deliver one batch; returns how many rows were claimed."""
        batch = await self.claim()
        if batch:
            await asyncio.gather(*(self._deliver(mail) for mail in batch))
        return len(batch)

    async def _deliver(self, mail: ClaimedMail) -> None:
        try:
            await self.sender.send(build_message(mail, self.settings.smtp_from))
        except PermanentFailure as exc:
            await self._finish(mail, "dead", str(exc))
        except TemporaryFailure as exc:
            if mail.attempts >= self.policy.max_attempts:
                await self._finish(mail, "dead", f"gave up after {mail.attempts} attempts: {exc}")
            else:
                await self._retry_later(mail, str(exc))
        except Exception as exc:  # one broken mail must never stop the others
            log.exception("mail delivery failed", extra={"outbox_id": str(mail.id)})
            await self._retry_later(mail, f"{type(exc).__name__}: {exc}")
        else:
            await self._finish(mail, "sent", None)

    async def _finish(self, mail: ClaimedMail, state: str, error: str | None) -> None:
        async with self.database.sessionmaker.begin() as session:
            await session.execute(
                text(
                    "UPDATE outbox SET state = :state, lease_until = NULL, last_error = :error,"
                    " sent_at = CASE WHEN :sent THEN now() END"
                    " WHERE id = :id AND state = 'sending'"
                ),
                {"state": state, "error": error, "id": mail.id, "sent": state == "sent"},
            )
        self._count(state)

    async def _retry_later(self, mail: ClaimedMail, error: str) -> None:
        delay = min(
            self.policy.backoff_max_seconds, self.policy.backoff_base_seconds * 2 ** (mail.attempts - 1)
        )
        delay *= random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security
        async with self.database.sessionmaker.begin() as session:
            await session.execute(
                text(
                    "UPDATE outbox SET state = 'pending', lease_until = NULL, last_error = :error,"
                    " next_attempt_at = now() + make_interval(secs => :delay)"
                    " WHERE id = :id AND state = 'sending'"
                ),
                {"error": error, "delay": delay, "id": mail.id},
            )
        self._count("retry")

    def _count(self, outcome: str) -> None:
        if callable(self._on_outcome):
            self._on_outcome(outcome)

    async def housekeeping(self) -> None:
        """Forget idempotency keys past their retention; any worker may do it, at most hourly."""
        async with self.database.sessionmaker.begin() as session:
            await forget_expired(session)

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        log.info("mail delivery worker started")
        loop = asyncio.get_running_loop()
        next_housekeeping = loop.time()
        while not stop.is_set():
            if loop.time() >= next_housekeeping:
                next_housekeeping = loop.time() + 3600
                try:
                    await self.housekeeping()
                except Exception:
                    log.exception("housekeeping failed")
            try:
                claimed = await self.run_once()
            except Exception as exc:
                if database_unavailable(exc):  # the mail waits in the outbox until it is back
                    log.warning("mail delivery round skipped: database unavailable (%s)", exc)
                else:
                    log.exception("mail delivery round failed")
                claimed = 0
            if claimed == 0:
                await pause(stop, poll_seconds)
        log.info("mail delivery worker stopped")
