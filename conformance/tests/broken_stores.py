"""A small correct store, and stores broken on purpose, one mistake each.

The suite must pass the correct one and fail each broken one on exactly the tests that
name its mistake. Imported by the test modules that pytester writes.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from sessionup.core.errors import DuplicateIDError, StoreClosedError, StoreError
from sessionup.core.session import Session
from sessionup.core.store import StoreBase, StoreTraits
from sessionup.core.tokens import id_ref


def _now() -> datetime:
    return datetime.now(UTC)


class Backend:
    """The data several store instances share, as a database would be."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}


class DictStore(StoreBase):
    """A correct store over a :class:`Backend`: the baseline every broken store bends."""

    traits = StoreTraits()

    def __init__(self, backend: Backend | None = None) -> None:
        self._backend = Backend() if backend is None else backend
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: object) -> DictStore:
        """A fresh instance for ``open_store``; the URL and options are not used."""
        return cls()

    @property
    def data(self) -> dict[str, Session]:
        return self._backend.sessions

    def check(self) -> None:
        if self._closed:
            raise StoreClosedError("the store is closed")

    def live(self, session: Session, now: datetime | None = None) -> bool:
        return session.expires_at > (now or _now())

    def matches(self, session: Session, user_key: str) -> bool:
        return session.user_key == user_key

    async def open(self) -> None:
        self.check()

    async def close(self) -> None:
        self._closed = True

    async def create(self, session: Session) -> None:
        self.check()
        old = self.data.get(session.id)
        if old is not None and self.live(old):
            raise DuplicateIDError(id_ref(session.id))
        self.data[session.id] = replace(session, current=False)

    async def fetch_by_id(self, id: str) -> Session | None:
        self.check()
        session = self.data.get(id)
        return session if session is not None and self.live(session) else None

    async def fetch_by_user_key(self, user_key: str) -> list[Session]:
        self.check()
        now = _now()
        return [s for s in self.data.values() if self.matches(s, user_key) and self.live(s, now)]

    async def delete_by_id(self, id: str) -> bool:
        self.check()
        session = self.data.pop(id, None)
        return session is not None and self.live(session)

    async def delete_by_user_key(self, user_key: str, *, except_ids: Collection[str] = ()) -> int:
        self.check()
        keep = set(except_ids)
        doomed = [s for s in self.data.values() if self.matches(s, user_key) and s.id not in keep]
        return self.remove(doomed)

    def remove(self, doomed: Iterable[Session]) -> int:
        now = _now()
        count = 0
        for session in doomed:
            del self.data[session.id]
            count += self.live(session, now)
        return count

    async def touch(self, id: str, expires_at: datetime) -> bool:
        self.check()
        session = self.data.get(id)
        if session is None or not self.live(session):
            return False
        if expires_at > session.expires_at:
            self.data[id] = replace(session, expires_at=expires_at)
        return True

    async def delete_expired(self, *, limit: int | None = None) -> int:
        self.check()
        now = _now()
        expired = [s for s in self.data.values() if not self.live(s, now)][:limit]
        for session in expired:
            del self.data[session.id]
        return len(expired)


class PersistentStore(DictStore):
    """Correct, and says its data survives a reopen (the backend is shared)."""

    traits = StoreTraits(persistent=True)


class NativeTTLStore(DictStore):
    """Correct: the backend drops expired sessions on its own, so the purge finds none."""

    traits = StoreTraits(native_ttl=True)

    async def delete_expired(self, *, limit: int | None = None) -> int:
        self.check()
        for session in [s for s in self.data.values() if not self.live(s)]:
            del self.data[session.id]
        return 0


class MillisecondStore(DictStore):
    """Correct: keeps milliseconds only, and says so."""

    traits = StoreTraits(expiry_precision=timedelta(milliseconds=1))

    async def create(self, session: Session) -> None:
        await super().create(_to_millis(session))

    async def touch(self, id: str, expires_at: datetime) -> bool:
        return await super().touch(
            id, expires_at.replace(microsecond=expires_at.microsecond // 1000 * 1000)
        )


def _to_millis(session: Session) -> Session:
    return replace(
        session,
        created_at=session.created_at.replace(
            microsecond=session.created_at.microsecond // 1000 * 1000
        ),
        expires_at=session.expires_at.replace(
            microsecond=session.expires_at.microsecond // 1000 * 1000
        ),
    )


class UndeclaredMillisecondStore(MillisecondStore):
    """Broken: drops microseconds without declaring a coarser precision."""

    traits = StoreTraits()


class ReturnsExpiredStore(DictStore):
    """Broken: reads do not look at the clock; only a purge removes expired sessions."""

    async def fetch_by_id(self, id: str) -> Session | None:
        self.check()
        return self.data.get(id)

    async def fetch_by_user_key(self, user_key: str) -> list[Session]:
        self.check()
        return [s for s in self.data.values() if s.user_key == user_key]


class IgnoresExceptIdsStore(DictStore):
    """Broken: ``delete_by_user_key`` deletes every session of the user."""

    async def delete_by_user_key(self, user_key: str, *, except_ids: Collection[str] = ()) -> int:
        return await super().delete_by_user_key(user_key)


class LosesConcurrentWritesStore(DictStore):
    """Broken: every write reads the whole data set, waits for I/O, and writes it back."""

    async def _rewrite(self) -> dict[str, Session]:
        snapshot = dict(self.data)
        await asyncio.sleep(0)
        return snapshot

    async def create(self, session: Session) -> None:
        self.check()
        data = await self._rewrite()
        old = data.get(session.id)
        if old is not None and self.live(old):
            raise DuplicateIDError(id_ref(session.id))
        data[session.id] = replace(session, current=False)
        self._backend.sessions = data

    async def delete_by_id(self, id: str) -> bool:
        self.check()
        data = await self._rewrite()
        session = data.pop(id, None)
        self._backend.sessions = data
        return session is not None and self.live(session)

    async def delete_by_user_key(self, user_key: str, *, except_ids: Collection[str] = ()) -> int:
        self.check()
        data = await self._rewrite()
        doomed = [s for s in data.values() if s.user_key == user_key and s.id not in except_ids]
        for session in doomed:
            del data[session.id]
        self._backend.sessions = data
        return sum(self.live(s) for s in doomed)

    async def touch(self, id: str, expires_at: datetime) -> bool:
        self.check()
        data = await self._rewrite()
        session = data.get(id)
        if session is None or not self.live(session):
            return False
        if expires_at > session.expires_at:
            data[id] = replace(session, expires_at=expires_at)
        self._backend.sessions = data
        return True


class OverwritesDuplicatesStore(DictStore):
    """Broken: ``create`` replaces a session that has the same id."""

    async def create(self, session: Session) -> None:
        self.check()
        self.data[session.id] = replace(session, current=False)


class TouchMovesExpiryEarlierStore(DictStore):
    """Broken: ``touch`` sets whatever expiry it is given."""

    async def touch(self, id: str, expires_at: datetime) -> bool:
        self.check()
        session = await self.fetch_by_id(id)
        if session is None:
            return False
        self.data[id] = replace(session, expires_at=expires_at)
        return True


class TouchRevivesExpiredStore(DictStore):
    """Broken: ``touch`` extends any session still held, expired or not."""

    async def touch(self, id: str, expires_at: datetime) -> bool:
        self.check()
        session = self.data.get(id)
        if session is None:
            return False
        self.data[id] = replace(session, expires_at=max(expires_at, session.expires_at))
        return True


class DriverErrorAfterCloseStore(DictStore):
    """Broken: a closed store lets its driver's error escape."""

    def check(self) -> None:
        if self._closed:
            raise RuntimeError("connection pool is closed")


class GlobUserKeysStore(DictStore):
    """Broken: user keys go into a glob pattern, as in ``SCAN MATCH user:<key>``."""

    def matches(self, session: Session, user_key: str) -> bool:
        return fnmatch.fnmatchcase(session.user_key, user_key)


class CaseInsensitiveUserKeysStore(DictStore):
    """Broken: user keys are compared without case, as under a case-insensitive collation."""

    def matches(self, session: Session, user_key: str) -> bool:
        return session.user_key.casefold() == user_key.casefold()


class IntegerResultsStore(DictStore):
    """Broken: ``delete_by_id`` and ``touch`` return 1 and 0, as a driver's counters do."""

    async def delete_by_id(self, id: str) -> bool:
        return int(await super().delete_by_id(id))  # type: ignore[return-value]

    async def touch(self, id: str, expires_at: datetime) -> bool:
        return int(await super().touch(id, expires_at))  # type: ignore[return-value]


class IgnoresLimitStore(DictStore):
    """Broken: ``delete_expired`` purges everything whatever its limit."""

    async def delete_expired(self, *, limit: int | None = None) -> int:
        return await super().delete_expired()


class CountsExpiredStore(DictStore):
    """Broken: deletes count sessions that had already expired."""

    def remove(self, doomed: Iterable[Session]) -> int:
        doomed = list(doomed)
        for session in doomed:
            del self.data[session.id]
        return len(doomed)

    async def delete_by_id(self, id: str) -> bool:
        self.check()
        return self.data.pop(id, None) is not None


class ForgetfulStore(DictStore):
    """Broken: says it is persistent, but every instance starts empty."""

    traits = StoreTraits(persistent=True)

    def __init__(self, backend: Backend | None = None) -> None:
        super().__init__(None)


class DeadStore(DictStore):
    """Correct for a backend that is down: every call fails with ``StoreError``."""

    def fail(self) -> NoReturn:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as exc:
            raise StoreError("cannot reach the backend") from exc

    def check(self) -> None:
        self.fail()

    async def close(self) -> None:
        self._closed = True


class RawErrorDeadStore(DeadStore):
    """Broken: the driver's ``OSError`` escapes a dead backend."""

    def fail(self) -> NoReturn:
        raise ConnectionRefusedError(111, "Connection refused")


class CauselessDeadStore(DeadStore):
    """Broken: a ``StoreError`` without the driver's error as its cause."""

    def fail(self) -> NoReturn:
        raise StoreError("cannot reach the backend")


async def _hang(self: DictStore, *args: object, **kwargs: object) -> NoReturn:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


class HangingDeadStore(DeadStore):
    """Broken: no timeout, so every call on a dead backend waits forever."""

    open = create = fetch_by_id = fetch_by_user_key = _hang
    delete_by_id = delete_by_user_key = touch = delete_expired = _hang


class ConnectingConstructorDeadStore(DeadStore):
    """Broken: the constructor connects, and so raises against a dead backend."""

    def __init__(self, backend: Backend | None = None) -> None:
        raise ConnectionRefusedError(111, "Connection refused")
