"""Bounds on expensive work (image decoding, PDF rendering): a few jobs at once, one per caller,
run in a worker thread, and a quick refusal instead of a queue that grows without end."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
import anyio.to_thread

from blink_api.kit.errors import ServiceUnavailable, TooManyRequests

T = TypeVar("T")


async def _acquire(semaphore: anyio.Semaphore, seconds: float) -> bool:
    """Take it at once when free, else wait at most `seconds`; False when it stayed taken."""
    try:
        semaphore.acquire_nowait()
        return True
    except anyio.WouldBlock:
        pass
    with anyio.move_on_after(seconds):
        await semaphore.acquire()
        return True
    return False


@dataclass
class _Caller:
    # A semaphore, not a lock: a lock refuses outright a second acquire from the task that holds it,
    # where the caller's next job is to wait for its turn (or get 429).
    turn: anyio.Semaphore = field(default_factory=lambda: anyio.Semaphore(1))
    users: int = 0


class Gate:
    """At most `limit` jobs run at once, and at most one of each caller (its further jobs queue
    behind it, so one caller can never hold every slot). A job waits at most `wait_seconds` for its
    turn: then it is refused with 429 while the caller's own job holds its turn, with 503 while the
    others' jobs hold every slot; both with `Retry-After`."""

    def __init__(self, limit: int, wait_seconds: float, *, what: str) -> None:
        self.limit = limit
        self.wait_seconds = wait_seconds
        self.what = what
        self._slots = anyio.Semaphore(limit)
        self._callers: dict[Hashable, _Caller] = {}
        self.retry_after = max(1, math.ceil(wait_seconds))

    @property
    def busy(self) -> int:
        """Jobs running now."""
        return self.limit - self._slots.value

    @asynccontextmanager
    async def turn(self, caller: Hashable) -> AsyncIterator[None]:
        deadline = anyio.current_time() + self.wait_seconds
        mine = self._callers.setdefault(caller, _Caller())
        mine.users += 1
        try:
            if not await _acquire(mine.turn, self.wait_seconds):
                raise TooManyRequests(
                    f"Your previous {self.what} is still running; try again shortly.",
                    retry_after=self.retry_after,
                )
            try:
                if not await _acquire(self._slots, max(0.0, deadline - anyio.current_time())):
                    raise ServiceUnavailable(
                        f"Too many {self.what}s are running; try again shortly.",
                        headers={"Retry-After": str(self.retry_after)},
                    )
                try:
                    yield
                finally:
                    self._slots.release()
            finally:
                mine.turn.release()
        finally:
            mine.users -= 1
            if mine.users == 0:
                del self._callers[caller]

    async def run(self, caller: Hashable, job: Callable[..., T], *args: object) -> T:
        """`job(*args)` in a worker thread, in its turn: the event loop keeps serving meanwhile, and a
        client that goes away does not free the slot before the job has really ended."""
        async with self.turn(caller):
            return await anyio.to_thread.run_sync(job, *args)
