"""Time limits on store calls, kept by one watchdog thread instead of an event-loop timer each.

Measured with ``bench/sqlite_fetch.py``, a timer per call (``asyncio.timeout``) added 15 to
60 microseconds to a primary-key lookup through aiosqlite's worker thread, about as much as
the rest of the store's work on the call. Here each call enters an ``asyncio.Timeout``
with no deadline (no timer), registers it, and a daemon thread shared by every store of the
process expires the overdue ones through ``loop.call_soon_threadsafe``. The thread sleeps
while no call is in flight and ticks every :data:`TICK` seconds while some are, so a call
overruns its limit by at most about one tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from types import TracebackType
from typing import Final

__all__ = ["TICK", "Deadline"]

#: How often, in seconds, the watchdog looks for overdue calls while any are in flight.
TICK: Final = 0.05


class _Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy = threading.Event()
        self._watched: dict[asyncio.Timeout, tuple[float, asyncio.AbstractEventLoop]] = {}
        self._thread: threading.Thread | None = None

    def watch(self, timeout: asyncio.Timeout, seconds: float) -> None:
        entry = (time.monotonic() + seconds, asyncio.get_running_loop())
        with self._lock:
            self._watched[timeout] = entry
            if len(self._watched) == 1:
                self._busy.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sessionup-sqlite-deadlines", daemon=True
                )
                self._thread.start()

    def unwatch(self, timeout: asyncio.Timeout) -> None:
        with self._lock:
            self._watched.pop(timeout, None)

    def _run(self) -> None:
        while True:
            self._busy.wait()
            time.sleep(TICK)
            now = time.monotonic()
            with self._lock:
                overdue = [(t, loop) for t, (due, loop) in self._watched.items() if due <= now]
                for timeout, _ in overdue:
                    del self._watched[timeout]
                if not self._watched:
                    self._busy.clear()
            for timeout, loop in overdue:
                # A closed loop raises RuntimeError: nothing waits on it any more.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_expire, timeout)

    def forget(self) -> None:
        """Start afresh in a forked child, where the parent's thread does not exist."""
        self._lock = threading.Lock()
        self._busy = threading.Event()
        self._watched = {}
        self._thread = None

    def __len__(self) -> int:
        return len(self._watched)


def _expire(timeout: asyncio.Timeout) -> None:
    # Runs on the call's own loop. A call that finished meanwhile has left its Timeout,
    # which then refuses the change with RuntimeError.
    with contextlib.suppress(RuntimeError):
        timeout.reschedule(asyncio.get_running_loop().time())


WATCHDOG: Final = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=WATCHDOG.forget)


class Deadline:
    """``async with Deadline(seconds):`` raises ``TimeoutError`` once ``seconds`` have passed.

    Same semantics as ``asyncio.timeout`` (the body is cancelled, and the cancellation
    turned into ``TimeoutError``), with a precision of about :data:`TICK`.
    """

    __slots__ = ("_seconds", "_timeout")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._timeout = asyncio.timeout(None)

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()
        WATCHDOG.watch(self._timeout, self._seconds)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        WATCHDOG.unwatch(self._timeout)
        await self._timeout.__aexit__(exc_type, exc, tb)
