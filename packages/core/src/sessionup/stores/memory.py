"""The in-memory store: one process, nothing persisted. For tests, demos and single workers.

Lookups by id are O(1) and by user key O(sessions of that user). Expiry is enforced on
every read; an optional sweeper task removes expired sessions in the background so memory
does not grow with sessions nobody asks for again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sessionup.core.errors import DuplicateIDError, StoreClosedError
from sessionup.core.plugins import StoreSpec, hookimpl, store_options
from sessionup.core.session import Session
from sessionup.core.store import StoreBase, StoreTraits
from sessionup.core.tokens import id_ref

__all__ = ["MemoryStore"]

logger = logging.getLogger(__name__)


class MemoryStore(StoreBase):
    """Sessions in a dict, indexed by id and by user key.

    :param sweep_interval: how often a background task deletes expired sessions, or None
        for no task (expired sessions are still never returned, and are dropped when met).

    >>> import asyncio
    >>> async def demo() -> int:
    ...     async with MemoryStore() as store:
    ...         return len(await store.fetch_by_user_key("alice"))
    >>> asyncio.run(demo())
    0
    """

    traits = StoreTraits(persistent=False)

    _OPTIONS = {"sweep_interval": timedelta}

    def __init__(self, *, sweep_interval: timedelta | None = None) -> None:
        if sweep_interval is not None and sweep_interval <= timedelta(0):
            raise ValueError(f"sweep_interval must be positive, got {sweep_interval}")
        self._by_id: dict[str, Session] = {}
        self._by_user: dict[str, dict[str, None]] = {}
        self._sweep_interval = sweep_interval
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemoryStore:
        """Build from ``memory://`` with an optional ``?sweep_interval=SECONDS``."""
        _, checked = store_options("memory", url, options, cls._OPTIONS)
        return cls(**checked)

    async def open(self) -> None:
        self._check_open()
        if self._sweep_interval is not None and self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(
                self._sweep(self._sweep_interval.total_seconds()), name="sessionup-memory-sweep"
            )

    async def close(self) -> None:
        self._closed = True
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    async def create(self, session: Session) -> None:
        self._check_open()
        if session.id in self._by_id:
            existing = self._by_id[session.id]
            if not existing.is_expired():
                raise DuplicateIDError(id_ref(session.id))
            self._remove(existing)
        stored = replace(session, current=False) if session.current else session
        self._by_id[session.id] = stored
        self._by_user.setdefault(session.user_key, {})[session.id] = None

    async def fetch_by_id(self, id: str) -> Session | None:
        self._check_open()
        session = self._by_id.get(id)
        if session is None:
            return None
        if session.expires_at <= datetime.now(UTC):
            self._remove(session)
            return None
        return session

    async def fetch_by_user_key(self, user_key: str) -> list[Session]:
        self._check_open()
        ids = self._by_user.get(user_key)
        if not ids:
            return []
        now = datetime.now(UTC)
        live = []
        for session in [self._by_id[i] for i in ids]:
            if session.expires_at <= now:
                self._remove(session)
            else:
                live.append(session)
        return live

    async def delete_by_id(self, id: str) -> bool:
        self._check_open()
        session = self._by_id.get(id)
        if session is None:
            return False
        self._remove(session)
        return not session.is_expired()

    async def delete_by_user_key(self, user_key: str, *, except_ids: Collection[str] = ()) -> int:
        self._check_open()
        ids = self._by_user.get(user_key)
        if not ids:
            return 0
        keep = set(except_ids)
        now = datetime.now(UTC)
        count = 0
        for session in [self._by_id[i] for i in ids if i not in keep]:
            self._remove(session)
            count += session.expires_at > now
        return count

    async def touch(self, id: str, expires_at: datetime) -> bool:
        self._check_open()
        session = await self.fetch_by_id(id)
        if session is None:
            return False
        if expires_at > session.expires_at:
            self._by_id[id] = replace(session, expires_at=expires_at)
        return True

    async def delete_expired(self, *, limit: int | None = None) -> int:
        self._check_open()
        now = datetime.now(UTC)
        expired = [s for s in self._by_id.values() if s.expires_at <= now]
        if limit is not None:
            expired = expired[:limit]
        for session in expired:
            self._remove(session)
        return len(expired)

    def __len__(self) -> int:
        """How many sessions are held, expired ones not yet dropped included."""
        return len(self._by_id)

    def _remove(self, session: Session) -> None:
        self._by_id.pop(session.id, None)
        ids = self._by_user.get(session.user_key)
        if ids is not None:
            ids.pop(session.id, None)
            if not ids:
                del self._by_user[session.user_key]

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError("the memory store is closed")

    async def _sweep(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            removed = await self.delete_expired()
            if removed:
                logger.debug("memory store swept %d expired sessions", removed)


@hookimpl
def sessionup_store_schemes() -> Sequence[StoreSpec]:
    """Register ``memory://``."""
    return [
        StoreSpec(
            schemes=("memory",),
            factory="sessionup.stores.memory:MemoryStore.from_url",
            description="in-process dict; nothing persisted",
        )
    ]
