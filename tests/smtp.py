"""A real SMTP server for the mail tests (aiosmtpd in a thread) and helpers to run the delivery worker."""

from __future__ import annotations

import asyncio
import email
import email.policy
import inspect
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from blink_api.kit.config import Settings
from blink_api.kit.db import Database
from blink_api.notifications.delivery import DeliveryPolicy, DeliveryWorker
from tests.conftest import make_settings

SENDER = "Blink <noreply@blink.test>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Recorder:
    """The aiosmtpd handler: keeps what it accepts; answers chosen recipients with a chosen reply."""

    received: list[Received] = field(default_factory=list)
    # Messages whose DATA was read and then refused: they show what a failed attempt looked like.
    refused: list[Received] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_replies: dict[str, str] = field(default_factory=dict)
    # Cleared: DATA waits until it is set again (a slow server, to look at the outbox mid-send).
    go_on: threading.Event = field(default_factory=threading.Event)
    in_data: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.go_on.set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        item = Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        self.in_data.set()
        await asyncio.get_running_loop().run_in_executor(None, self.go_on.wait)
        reply = next((self.data_replies[r] for r in item.rcpt_tos if r in self.data_replies), None)
        with self.lock:
            (self.refused if reply else self.received).append(item)
        return reply or "250 Message accepted for delivery"

    def to(self, recipient: str) -> list[Received]:
        return [r for r in self.received if recipient in r.rcpt_tos]

    @property
    def recipients(self) -> list[str]:
        return sorted(addr for r in self.received for addr in r.rcpt_tos)


class SmtpServer:
    """aiosmtpd on 127.0.0.1; can be stopped and started again on the same port (SMTP down, then up)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.recorder = Recorder()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        # A stopped controller closes its loop, so each start needs a fresh one.
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def fast_policy(**overrides: Any) -> DeliveryPolicy:
    values: dict[str, Any] = {
        "lease_seconds": 30,
        "max_attempts": 3,
        "backoff_base_seconds": 60.0,
        "backoff_max_seconds": 600.0,
        "batch_size": 20,
    }
    values.update(overrides)
    return DeliveryPolicy(**values)


def smtp_settings(tmp_path: Path, database_url: str, port: int) -> Settings:
    return make_settings(tmp_path, database_url, smtp_host="127.0.0.1", smtp_port=port, smtp_from=SENDER)


def smtp_worker(
    database: Database, tmp_path: Path, database_url: str, port: int, **policy: Any
) -> DeliveryWorker:
    settings = smtp_settings(tmp_path, database_url, port)
    return DeliveryWorker(database, settings, policy=fast_policy(**policy))


async def drain(worker: DeliveryWorker, max_rounds: int = 100) -> int:
    """Run the worker until nothing is due; returns how many rows it claimed."""
    total = 0
    for _ in range(max_rounds):
        claimed = await worker.run_once()
        if claimed == 0:
            return total
        total += claimed
    raise AssertionError("the outbox never drained")


async def eventually(check: Callable[[], Any], seconds: float = 5.0) -> bool:
    """Poll `check` (plain or async) until it is truthy or the time is up."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result or time.monotonic() >= deadline:
            return bool(result)
        await asyncio.sleep(0.05)


class Mailbox:
    """Runs the delivery worker and hands out what arrived since the last look."""

    def __init__(self, database: Database, database_url: str, tmp_path: Path, smtp: SmtpServer) -> None:
        self.worker = smtp_worker(database, tmp_path, database_url, smtp.port)
        self.recorder = smtp.recorder
        self.seen = 0

    async def deliver(self) -> list[Received]:
        await drain(self.worker)
        new = self.recorder.received[self.seen :]
        self.seen = len(self.recorder.received)
        return new
