"""Sessions in one JSON file, rewritten atomically on every change."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import unquote, urlsplit

from sessionup.core import (
    DuplicateIDError,
    Session,
    StoreBase,
    StoreClosedError,
    StoreError,
    StoreTraits,
    StoreURLError,
    session_from_record,
    session_to_record,
    store_options,
)
from sessionup.core.session import datetime_to_micros
from sessionup.core.tokens import id_ref

__all__ = ["LAYOUT_VERSION", "JSONFileStore"]

logger = logging.getLogger(__name__)

#: Version of the file's layout, written into it so a later release can migrate it.
LAYOUT_VERSION: Final = 1

T = TypeVar("T")
_Change = Callable[["_Snapshot"], tuple[Any, bool]]
_Pending = tuple[_Change, "asyncio.Future[Any]"]


@dataclass
class _Snapshot:
    """The file as last read: records by id, an index by user key, and the file's identity."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_user: dict[str, set[str]] = field(default_factory=dict)
    stamp: tuple[int, ...] | None = None

    def add(self, record: dict[str, Any]) -> None:
        self.records[record["id"]] = record
        self.by_user.setdefault(record["user_key"], set()).add(record["id"])

    def remove(self, session_id: str) -> dict[str, Any] | None:
        record = self.records.pop(session_id, None)
        if record is not None:
            ids = self.by_user.get(record["user_key"], set())
            ids.discard(session_id)
            if not ids:
                self.by_user.pop(record["user_key"], None)
        return record


class JSONFileStore(StoreBase):
    """A store keeping every session in one JSON file.

    Every change rewrites the file through a temporary file and an atomic rename, under an
    exclusive lock on ``<path>.lock``, so several instances and processes on one host may
    share a file. Reads take no file lock and re-read the file only when it changed.

    :param path: the JSON file; it is created on first use, its folder must exist.
    :param fsync: flush every write to the disk before it counts as done.
    :param lock_timeout: how long a write waits for the file lock before
        :class:`~sessionup.core.StoreError` is raised.
    """

    traits = StoreTraits(persistent=True)

    _OPTIONS: Final = {"fsync": bool, "lock_timeout": timedelta}

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: bool = True,
        lock_timeout: timedelta = timedelta(seconds=5),
    ) -> None:
        if lock_timeout <= timedelta(0):
            raise StoreURLError(f"lock_timeout must be positive, got {lock_timeout}")
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._fsync = fsync
        self._lock_timeout = lock_timeout.total_seconds()
        self._guard = asyncio.Lock()
        self._queue: list[_Pending] = []
        self._snapshot = _Snapshot()
        self._opened = False
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> JSONFileStore:
        """Build from ``jsonfile:///absolute/path.json`` or ``jsonfile://relative.json``.

        Query options: ``fsync`` (true or false) and ``lock_timeout`` (seconds).

        :raises StoreURLError: for an empty path or an unknown or malformed option.
        """
        _, checked = store_options("jsonfile", url, options, cls._OPTIONS)
        parts = urlsplit(url)
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise StoreURLError("a jsonfile:// URL needs a file path, as jsonfile:///var/s.json")
        return cls(path, **checked)

    async def open(self) -> None:
        """Create the file if it does not exist yet. Idempotent; first use calls it too.

        :raises StoreError: if the file cannot be created or is not a session file.
        """
        self._check_open()
        if self._opened:
            return
        async with self._guard:
            await self._locked_write(lambda snapshot: (None, not self.path.exists()))
        self._opened = True

    async def close(self) -> None:
        """Forget the cached file. Idempotent; the store cannot be used afterwards."""
        self._closed = True
        self._snapshot = _Snapshot()

    async def create(self, session: Session) -> None:
        """Insert ``session``; :class:`~sessionup.core.DuplicateIDError` if its id is live."""

        def insert(snapshot: _Snapshot) -> tuple[None, bool]:
            old = snapshot.records.get(session.id)
            if old is not None and self._live(old, _now_micros()):
                raise DuplicateIDError(id_ref(session.id))
            snapshot.remove(session.id)
            snapshot.add(session_to_record(session))
            return None, True

        await self._write(insert)

    async def fetch_by_id(self, id: str) -> Session | None:
        """The live session with this id, or None."""
        snapshot = await self._read()
        record = snapshot.records.get(id)
        if record is None or not self._live(record, _now_micros()):
            return None
        return _decode(record)

    async def fetch_by_user_key(self, user_key: str) -> list[Session]:
        """The user's live sessions, or an empty list."""
        snapshot = await self._read()
        now = _now_micros()
        records = (snapshot.records[i] for i in snapshot.by_user.get(user_key, ()))
        decoded = (_decode(r) for r in records if self._live(r, now))
        return [s for s in decoded if s is not None]

    async def delete_by_id(self, id: str) -> bool:
        """Delete the session; True if a live one was deleted."""

        def delete(snapshot: _Snapshot) -> tuple[bool, bool]:
            record = snapshot.remove(id)
            return record is not None and self._live(record, _now_micros()), record is not None

        return await self._write(delete)

    async def delete_by_user_key(self, user_key: str, *, except_ids: Collection[str] = ()) -> int:
        """Delete the user's sessions but those in ``except_ids``; return how many were live."""
        keep = set(except_ids)

        def delete(snapshot: _Snapshot) -> tuple[int, bool]:
            doomed = [i for i in snapshot.by_user.get(user_key, ()) if i not in keep]
            now = _now_micros()
            removed = [snapshot.remove(i) for i in doomed]
            return sum(self._live(r, now) for r in removed if r is not None), bool(doomed)

        return await self._write(delete)

    async def touch(self, id: str, expires_at: datetime) -> bool:
        """Move a live session's expiry later; False, writing nothing, if absent or expired."""
        later = datetime_to_micros(expires_at)

        def extend(snapshot: _Snapshot) -> tuple[bool, bool]:
            record = snapshot.records.get(id)
            if record is None or not self._live(record, _now_micros()):
                return False, False
            if later <= record["expires_at"]:
                return True, False
            record["expires_at"] = later
            return True, True

        return await self._write(extend)

    async def delete_expired(self, *, limit: int | None = None) -> int:
        """Remove expired sessions, at most ``limit`` of them; return how many."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")

        def purge(snapshot: _Snapshot) -> tuple[int, bool]:
            now = _now_micros()
            expired = [i for i, r in snapshot.records.items() if not self._live(r, now)]
            for session_id in expired[:limit]:
                snapshot.remove(session_id)
            count = len(expired[:limit])
            return count, count > 0

        return await self._write(purge)

    @staticmethod
    def _live(record: dict[str, Any], now: int) -> bool:
        expires: object = record.get("expires_at")
        return isinstance(expires, int) and expires > now

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"the jsonfile store on {self.path} is closed")

    async def _read(self) -> _Snapshot:
        await self.open()
        async with self._guard:
            self._check_open()
            await self._to_thread(self._refresh)
            return self._snapshot

    async def _write(self, change: Callable[[_Snapshot], tuple[T, bool]]) -> T:
        """Queue ``change`` and return its result once the file holding it is saved.

        Changes queued while another batch is being written go into the next file write
        together (group commit), so concurrent callers share one rewrite of the file.
        """
        await self.open()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((change, future))
        async with self._guard:
            self._check_open()
            if not future.done():
                batch, self._queue = self._queue, []
                await self._locked_write_batch(batch)
        result: T = await future
        return result

    async def _locked_write(self, change: Callable[[_Snapshot], tuple[T, bool]]) -> T:
        """Apply one change now; the caller holds the guard."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._locked_write_batch([(change, future)])
        result: T = await future
        return result

    async def _locked_write_batch(self, batch: list[_Pending]) -> None:
        try:
            outcomes = await self._to_thread(self._write_in_thread, [c for c, _ in batch])
        except BaseException as exc:
            for _, future in batch:
                if future.done():
                    continue
                if isinstance(exc, Exception):
                    future.set_exception(exc)
                else:
                    future.cancel()
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _write_in_thread(self, changes: list[_Change]) -> list[tuple[bool, Any]]:
        """Apply ``changes`` in order to the current file under the file lock, then save once.

        Runs in a worker thread, one batch at a time per instance (the caller holds the
        guard). A change that raises fails alone; a failed save fails the whole batch.
        """
        outcomes: list[tuple[bool, Any]] = []
        with self._file_lock():
            self._refresh()
            dirty = False
            for change in changes:
                try:
                    result, changed = change(self._snapshot)
                except Exception as exc:
                    outcomes.append((False, exc))
                    continue
                outcomes.append((True, result))
                dirty = dirty or changed
            if dirty:
                try:
                    self._save()
                except BaseException:
                    # What is in memory now differs from the file: read it again next time.
                    self._snapshot = _Snapshot()
                    raise
        return outcomes

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + self._lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError as exc:
                    if time.monotonic() > deadline:
                        raise StoreError(
                            f"{self._lock_path} stayed locked for {self._lock_timeout:g} s"
                        ) from exc
                time.sleep(0.002)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    async def _to_thread(self, func: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(func, *args)
        except OSError as exc:
            raise StoreError(f"jsonfile store on {self.path}: {exc}") from exc

    def _refresh(self) -> None:
        """Re-read the file if another writer replaced it since it was last read."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            self._snapshot = _Snapshot()
            return
        stamp = _stamp(info)
        if stamp == self._snapshot.stamp:
            return
        with open(self.path, encoding="utf-8") as file:
            text = file.read()
        self._snapshot = _parse(text, self.path)
        self._snapshot.stamp = stamp

    def _save(self) -> None:
        document = {"layout": LAYOUT_VERSION, "sessions": list(self._snapshot.records.values())}
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(json.dumps(document, ensure_ascii=False, separators=(",", ":")))
            file.flush()
            if self._fsync:
                os.fsync(file.fileno())
        os.replace(temporary, self.path)
        self._snapshot.stamp = _stamp(os.stat(self.path))


def _stamp(info: os.stat_result) -> tuple[int, ...]:
    """What tells one version of the file from the next without reading it."""
    return (info.st_ino, info.st_mtime_ns, info.st_ctime_ns, info.st_size)


def _now_micros() -> int:
    return datetime_to_micros(datetime.now(UTC))


def _parse(text: str, path: Path) -> _Snapshot:
    """The file's records. A whole file that is not ours is an error; a bad record is not."""
    try:
        document = json.loads(text) if text.strip() else {"layout": LAYOUT_VERSION, "sessions": []}
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("layout") != LAYOUT_VERSION:
        layout = document.get("layout") if isinstance(document, dict) else None
        raise StoreError(f"{path} has layout {layout!r}; this store reads layout {LAYOUT_VERSION}")
    snapshot = _Snapshot()
    for record in document.get("sessions", []):
        if isinstance(record, dict) and all(
            isinstance(record.get(name), str) for name in ("id", "user_key")
        ):
            snapshot.add(record)
            continue
        logger.warning("jsonfile store %s: skipping a record without an id or user key", path)
    return snapshot


def _decode(record: dict[str, Any]) -> Session | None:
    try:
        return session_from_record(record)
    except (ValueError, TypeError) as exc:
        logger.warning("jsonfile store: undecodable session %s: %s", id_ref(record["id"]), exc)
        return None
