"""The background jobs' loop (`kit/periodic.py`): the SLA and schedule workers run on it."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import exc

from blink_api.kit.periodic import run_every


async def test_a_failing_round_is_logged_and_the_next_one_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    rounds = 0

    async def one_round() -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise ValueError("broken ticket")
        if rounds == 2:
            raise exc.TimeoutError("QueuePool limit of size 1 overflow 1 reached, connection timed out")
        stop.set()

    with caplog.at_level(logging.INFO, logger="blink_api.kit.periodic"):
        await asyncio.wait_for(run_every(0, one_round, stop, name="test worker"), timeout=10)
    assert rounds == 3
    records = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (logging.ERROR, "test worker round failed") in records
    failed = next(r for r in caplog.records if r.getMessage() == "test worker round failed")
    assert failed.exc_info and "broken ticket" in str(failed.exc_info[1])
    warnings = [m for level, m in records if level == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("test worker round skipped: database unavailable")
    assert records[0] == (logging.INFO, "test worker started")
    assert records[-1] == (logging.INFO, "test worker stopped")


async def test_stopping_wakes_the_job_in_the_middle_of_its_pause() -> None:
    stop, ran = asyncio.Event(), asyncio.Event()
    rounds = 0

    async def one_round() -> None:
        nonlocal rounds
        rounds += 1
        ran.set()

    job = asyncio.create_task(run_every(3600, one_round, stop, name="test worker"))
    await asyncio.wait_for(ran.wait(), timeout=10)
    stop.set()
    # An hour's pause, yet the job ends as soon as it is told to.
    await asyncio.wait_for(job, timeout=10)
    assert rounds == 1


async def test_a_job_told_to_stop_before_it_starts_runs_no_round() -> None:
    stop = asyncio.Event()
    stop.set()
    called = False

    async def one_round() -> None:
        nonlocal called
        called = True

    await run_every(0, one_round, stop, name="test worker")
    assert not called
