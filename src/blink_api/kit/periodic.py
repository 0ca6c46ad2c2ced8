"""A background job that does one round every few seconds until it is told to stop.

A round that fails is logged and the next one is tried on time: a database that is away is a warning
(the work waits where it is, in the database), anything else an error with its traceback. Stopping
wakes the job at once instead of at the end of its pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import ClassVar

from blink_api.kit.config import Settings
from blink_api.kit.db import Database, database_unavailable

log = logging.getLogger(__name__)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less when `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run_every(
    seconds: float, one_round: Callable[[], Awaitable[object]], stop: asyncio.Event, *, name: str
) -> None:
    """Run `one_round` now and then every `seconds` after the previous one ended, until `stop` is set."""
    log.info("%s started", name)
    while not stop.is_set():
        try:
            await one_round()
        except Exception as exc:
            if database_unavailable(exc):
                log.warning("%s round skipped: database unavailable (%s)", name, exc)
            else:
                log.exception("%s round failed", name)
        await pause(stop, seconds)
    log.info("%s stopped", name)


class PeriodicWorker:
    """A background job with a small database pool of its own, doing `run_round` every `poll_seconds`
    on `run_every` until stopped. Subclasses name themselves and say what a round does."""

    name: ClassVar[str]
    poll_seconds: ClassVar[float]

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings

    @staticmethod
    def database_for(url: str, settings: Settings) -> Database:
        """A small pool of the job's own, with the same timeouts as the request pool."""
        return Database.from_settings(url, settings, pool_size=1, max_overflow=1)

    async def run_round(self) -> object:
        raise NotImplementedError

    async def run(self, stop: asyncio.Event, poll_seconds: float | None = None) -> None:
        pause_seconds = self.poll_seconds if poll_seconds is None else poll_seconds
        await run_every(pause_seconds, self.run_round, stop, name=self.name)
