"""Log-in throttling: lock the (account, client address) pair, slow the account, limit the address.

Locking an account after a few failures, whoever caused them, lets anyone lock its owner out. So
failures are counted three ways, in PostgreSQL so that every API process sees the same counts:

- per **(e-mail, client address) pair**: from `login_max_failures` failures on, that pair is locked
  for `login_lockout_seconds`, doubling with each further failure up to an hour. This stops one
  client guessing one account's password, and does not touch the owner elsewhere.
- per **client address**, over all e-mail addresses: from `login_address_max_failures` failures on,
  the address is locked the same doubling way. This stops one client trying many accounts.
- per **e-mail address**, over all client addresses: from `login_account_max_failures` failures on,
  each further failure holds the account for `login_account_delay_seconds`, no longer. This slows a
  guess spread over many addresses without ever locking the account for long: an owner at a new
  address waits at most that long per attempt.

An address the account logged in from successfully within `login_trusted_days` is trusted for it:
only its own pair lock applies there, so neither an attack on the account from elsewhere nor a
neighbour behind the same address trying other accounts keeps the owner out. A failure is
forgotten once it, and the lock it caused, lie `login_failure_window_seconds` back; a success
clears the pair's count. Requests refused for a lock cost no password hash and are not counted.
Besides, every log-in, right or wrong, costs a hash: the token route also limits how many one
client address may send a minute (`login_attempts_per_minute`, see blink_api.kit.ratelimit).
"""

from __future__ import annotations

import math
import random

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.identity import repository as repo
from blink_api.identity.repository import LoginStanding
from blink_api.kit.config import Settings
from blink_api.kit.errors import TooManyRequests

# One in this many failures also deletes rows that no longer count for anything.
_PRUNE_ONE_IN = 100


MAX_LOCK_SECONDS = 3600


def lock_seconds(settings: Settings, email: str, address: str, failures: int) -> float | None:
    """How long the row (e-mail, address) is locked after its `failures`-th failure; None: not locked."""
    if not address:  # the e-mail address over all clients: slowed, never locked for long
        if failures < settings.login_account_max_failures:
            return None
        return settings.login_account_delay_seconds
    max_failures = settings.login_max_failures if email else settings.login_address_max_failures
    if failures < max_failures:
        return None
    doublings = min(failures - max_failures, 12)
    return min(MAX_LOCK_SECONDS, settings.login_lockout_seconds * 2**doublings)


def ensure_may_try(standing: LoginStanding) -> None:
    """Refuse with 429 and `Retry-After` while a lock applies to this client and e-mail address.

    The answer is the same whichever lock applies and whether or not the address has an account.
    """
    waits = [standing.pair_wait]
    if not standing.trusted:
        waits += [standing.email_wait, standing.address_wait]
    wait = max(waits)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(
            f"Too many failed log-ins; try again in {seconds} seconds.", retry_after=seconds
        )


async def record_failure(session: AsyncSession, settings: Settings, email: str, address: str) -> None:
    """Count a failure for the pair, the e-mail and the client address; lock those that reach a limit.

    An empty e-mail names no account: it counts for the client address only.
    """
    keys = [(email, address), (email, ""), ("", address)] if email else [("", address)]
    counts = await repo.count_failed_login(
        session, keys, window_seconds=settings.login_failure_window_seconds
    )
    for (row_email, row_address), failures in counts.items():
        seconds = lock_seconds(settings, row_email, row_address, failures)
        if seconds is not None:
            await repo.lock_login(session, row_email, row_address, seconds)
    if random.randrange(_PRUNE_ONE_IN) == 0:  # noqa: S311 - spreading work, not a secret
        await repo.prune_login_throttle(
            session,
            window_seconds=settings.login_failure_window_seconds,
            trusted_days=settings.login_trusted_days,
        )
