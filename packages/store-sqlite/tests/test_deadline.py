"""The watchdog that bounds store calls without an event-loop timer per call."""

from __future__ import annotations

import asyncio
import time

import pytest

from sessionup.stores.sqlite.deadline import TICK, WATCHDOG, Deadline


async def test_a_call_past_its_deadline_raises_timeout_error_soon_after():
    started = time.monotonic()

    with pytest.raises(TimeoutError):
        async with Deadline(0.1):
            await asyncio.sleep(5)

    assert 0.1 <= time.monotonic() - started < 0.1 + 4 * TICK + 0.5


async def test_a_call_within_its_deadline_is_left_alone_and_unwatched():
    async with Deadline(1.0):
        await asyncio.sleep(0.01)

    await asyncio.sleep(2 * TICK)

    assert len(WATCHDOG) == 0


async def test_an_outside_cancellation_stays_a_cancellation():
    async def call() -> None:
        async with Deadline(10.0):
            await asyncio.sleep(5)

    task = asyncio.create_task(call())
    await asyncio.sleep(0.01)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(WATCHDOG) == 0


async def test_many_calls_at_once_each_get_their_own_deadline():
    async def call(seconds: float, sleep: float) -> str:
        try:
            async with Deadline(seconds):
                await asyncio.sleep(sleep)
        except TimeoutError:
            return "timed out"
        return "done"

    results = await asyncio.gather(*(call(0.1, 1.0) for _ in range(20)), call(5.0, 0.3))

    assert results == ["timed out"] * 20 + ["done"]
