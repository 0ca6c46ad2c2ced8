"""Password hashing: Argon2id off the event loop, a bounded number at once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from blink_api.kit.config import Settings
from blink_api.kit.errors import ServiceUnavailable

T = TypeVar("T")

HASH_THREAD_NICENESS = 10


def _lower_thread_priority() -> None:
    """Hashing threads, and the lane threads Argon2 starts from them, yield the CPU to requests."""
    if sys.platform == "linux":  # there niceness belongs to the calling thread alone
        os.nice(HASH_THREAD_NICENESS)


class Passwords:
    """Argon2id hashing in threads of its own, so the event loop keeps serving.

    Each hash takes `argon2_memory_kib` and a core or more for a while, so at most
    `password_hash_concurrency` run at once in a process. A call that cannot start within
    `password_hash_wait_seconds` is refused with 503 and `Retry-After` instead of queueing: a burst
    of log-ins costs bounded memory and answers quickly. The hashing threads run at a lower CPU
    priority, so requests that need no hash stay fast while hashes run.
    """

    RETRY_AFTER_SECONDS = 1

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        self._slots = asyncio.Semaphore(settings.password_hash_concurrency)
        self._wait_seconds = settings.password_hash_wait_seconds
        self._threads = ThreadPoolExecutor(
            max_workers=settings.password_hash_concurrency,
            thread_name_prefix="argon2",
            initializer=_lower_thread_priority,
        )
        # Verified against when the e-mail is unknown, so that costs the same as a wrong password.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await self._bounded(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await self._bounded(self._verify, password_hash, password)

    async def _bounded(self, function: Callable[..., T], *args: Any) -> T:
        if self._slots.locked():
            try:
                async with asyncio.timeout(self._wait_seconds):
                    await self._slots.acquire()
            except TimeoutError:
                raise ServiceUnavailable(
                    "Too many passwords are being checked at the moment; try again shortly.",
                    headers={"Retry-After": str(self.RETRY_AFTER_SECONDS)},
                ) from None
        else:
            await self._slots.acquire()
        loop = asyncio.get_running_loop()

        def free_slot(_: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: so is the semaphore's use
                loop.call_soon_threadsafe(self._slots.release)

        try:
            work = self._threads.submit(function, *args)
        except BaseException:
            self._slots.release()
            raise
        # Freed when the hash ends, not when the caller stops waiting (a client that disconnects
        # does not stop the thread), so the bound holds for the memory actually in use.
        work.add_done_callback(free_slot)
        return await asyncio.wrap_future(work)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return (
                self._hasher.verify(password_hash or self._dummy_hash, password) and password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
