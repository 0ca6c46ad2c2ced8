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

from blink_api.kit.db import database_unavailable

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
