"""What the benchmark scripts share: where the database is, who logs in, and a phase timer.

The scripts run as `python bench/<script>.py`, so this folder is on `sys.path` and they import this
module by its bare name.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
# Everything the benchmark writes lives here, never in the developer's `.data/`.
DATA_DIR = BENCH_DIR / ".data"
EMBEDDED_PGDATA = DATA_DIR / "postgres"

# The accounts `fill.py` creates with a password, for the load generators to log in with.
PASSWORD = "bench-password-2026"
EMPLOYEE_EMAIL = "bench.employee@blink.example"  # serves one tenant: sees about a fifth of the tickets
ADMIN_EMAIL = "bench.admin@blink.example"  # administrator: sees every ticket
PORTAL_EMAIL = "bench.portal@kunde.example"  # customer user with 50 sites, for a portal benchmark


def database_url() -> str:
    """A plain `postgresql://` URL: `DATABASE_URL` when set, else the embedded server under bench/.data.

    The embedded server is started on first use and stopped when this process exits (pgserver's
    cleanup), so a script calling this keeps the database up exactly as long as it runs.
    """
    configured = os.environ.get("DATABASE_URL")
    if configured:
        url = configured
    else:
        # pgserver warns about a missing XDG_RUNTIME_DIR on every start; it falls back to /tmp, fine here.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        from blink_api.kit.db import start_embedded_postgres

        url = start_embedded_postgres(EMBEDDED_PGDATA)
    return plain_url(url)


def is_embedded() -> bool:
    return not os.environ.get("DATABASE_URL")


def plain_url(url: str) -> str:
    """asyncpg wants `postgresql://`; SQLAlchemy's `+asyncpg` marker is dropped."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def sqlalchemy_url(url: str) -> str:
    return "postgresql+asyncpg://" + url.removeprefix("postgresql://")


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on uvloop when installed: the load generator's own overhead should be as small as
    the servers' (uvicorn uses uvloop too)."""
    try:
        import uvloop
    except ImportError:
        import asyncio

        return asyncio.run(main)
    return uvloop.run(main)


class Phases:
    """Collects how long each named phase took and prints it as it finishes."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.durations: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        print(f"-> {name} ...", flush=True)
        began = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - began
            self.durations[name] = self.durations.get(name, 0.0) + elapsed
            print(f"   {name}: {elapsed:7.1f} s", flush=True)

    def report(self) -> None:
        total = time.perf_counter() - self.started
        print("\nPhase durations:")
        for name, seconds in self.durations.items():
            print(f"  {name:<44} {seconds:8.1f} s")
        print(f"  {'total':<44} {total:8.1f} s  ({total / 60:.1f} min)")
