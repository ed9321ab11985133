"""The SQLite store: sessions in one file, shared by every process that opens it.

Each store instance holds one aiosqlite connection in autocommit mode. Every change to the
sessions is a single SQL statement, atomic on its own, and visible to the other processes on
the file as soon as it returns; the only transaction spanning several statements is the one
that creates or upgrades the layout on open.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import ipaddress
import json
import logging
import os
import sqlite3
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, NoReturn, cast
from urllib.parse import unquote, urlsplit

import aiosqlite

from sessionup.core.errors import (
    ConfigError,
    DuplicateIDError,
    StoreClosedError,
    StoreError,
    StoreURLError,
)
from sessionup.core.plugins import store_options
from sessionup.core.session import Agent, IPAddress, Session, datetime_to_micros
from sessionup.core.store import StoreBase, StoreTraits
from sessionup.core.tokens import id_ref

from . import schema
from .deadline import Deadline

__all__ = ["SQLiteStore"]

logger = logging.getLogger(__name__)

#: Sessions removed per statement when ``delete_expired`` is called without a limit, so the
#: write lock is released between batches and other processes keep going.
PURGE_BATCH: Final = 1000

_MEMORY: Final = ":memory:"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NO_META: Final[Mapping[str, str]] = MappingProxyType({})
_SYNCHRONOUS: Final = ("off", "normal", "full", "extra")
_COLUMNS: Final = "id, user_key, created_at, expires_at, ip, os, browser, meta"
# The same columns with text read as bytes: used only when a row holds invalid UTF-8.
_BLOB_COLUMNS: Final = ", ".join(
    f"CASE WHEN typeof({c}) = 'text' THEN CAST({c} AS BLOB) ELSE {c} END"
    for c in _COLUMNS.split(", ")
)
_DRIVER_ERRORS: Final = (sqlite3.Error, ValueError)


def _now() -> int:
    """The current time in integer microseconds since the epoch, UTC."""
    return time.time_ns() // 1000


def _micros(value: object, name: str) -> int:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return datetime_to_micros(value)


class SQLiteStore(StoreBase):
    """Sessions in a SQLite database file, through aiosqlite.

    The constructor does no I/O. On :meth:`open` (or first use) the store connects, turns
    on WAL, and creates its table with a recorded layout version if the file has none.
    Several processes may open the same file: each sees the others' writes at once.

    :param path: the database file, or ``":memory:"`` for a private database that lives as
        long as this instance (each instance gets a new, empty one).
    :param busy_timeout: how long a statement waits for another process's write lock
        before failing with ``StoreError``.
    :param timeout: the bound on any one operation, waiting included; past it the call
        raises ``StoreError``.
    :param synchronous: SQLite's ``synchronous`` setting: ``"normal"`` (the default; with
        WAL a power cut may lose the last writes but never corrupts the file), ``"full"``,
        ``"extra"`` or ``"off"``.
    :param table: the sessions table, for sharing a database file with other data.
    :raises ConfigError: for a bad value, naming it.

    >>> import asyncio
    >>> async def demo() -> int:
    ...     async with SQLiteStore(":memory:") as store:
    ...         return len(await store.fetch_by_user_key("alice"))
    >>> asyncio.run(demo())
    0
    """

    traits = StoreTraits(persistent=True)

    _OPTIONS: Final = {
        "busy_timeout": timedelta,
        "timeout": timedelta,
        "synchronous": str,
        "table": str,
    }

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: timedelta = timedelta(seconds=5),
        timeout: timedelta = timedelta(seconds=10),
        synchronous: str = "normal",
        table: str = "sessionup_sessions",
    ) -> None:
        database = os.fspath(path)
        if not isinstance(database, str) or not database:
            raise ConfigError(f"path must be a non-empty file path or ':memory:', got {path!r}")
        for name, value in (("busy_timeout", busy_timeout), ("timeout", timeout)):
            if not isinstance(value, timedelta) or value < timedelta(0):
                raise ConfigError(f"{name} must be a timedelta of zero or more, got {value!r}")
        if timeout <= timedelta(0):
            raise ConfigError(f"timeout must be positive, got {timeout}")
        if not isinstance(synchronous, str) or synchronous.lower() not in _SYNCHRONOUS:
            raise ConfigError(
                f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, got {synchronous!r}"
            )
        try:
            self._table = schema.check_table_name(table)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

        self._path = database
        self._busy_timeout = busy_timeout.total_seconds()
        self._timeout = timeout.total_seconds()
        self._synchronous = synchronous.upper()
        if database == _MEMORY:
            self.traits = StoreTraits(persistent=False)

        self._conn: aiosqlite.Connection | None = None
        self._open_lock = asyncio.Lock()
        self._closed = False
        self._sql = _Statements(self._table)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SQLiteStore:
        """Build a store from a ``sqlite://`` URL.

        ``sqlite:///relative.db`` (relative to the working directory),
        ``sqlite:////abs/path.db`` and ``sqlite:///:memory:``. Options come from the query
        string (``?busy_timeout=2&table=sessions``; durations in seconds) or as keyword
        arguments, not both for the same name. Percent-escapes in the path are decoded.

        :raises StoreURLError: for a URL that is not of those forms, or an unknown,
            repeated or ill-typed option.
        :raises ConfigError: for an option value out of range.
        """
        parts = urlsplit(url)
        if parts.scheme.lower() != "sqlite":
            raise StoreURLError(f"not a sqlite:// URL: {url!r}")
        if parts.netloc:
            raise StoreURLError(
                f"sqlite URLs name no host (got {parts.netloc!r}); use sqlite:///relative.db, "
                "sqlite:////absolute/path.db or sqlite:///:memory:"
            )
        if parts.fragment:
            raise StoreURLError("sqlite URL has a '#' fragment; write '#' in a path as %23")
        path = unquote(parts.path)
        if len(path) < 2 or not path.startswith("/"):
            raise StoreURLError(
                f"sqlite URL names no database file: {url!r}; use sqlite:///relative.db, "
                "sqlite:////absolute/path.db or sqlite:///:memory:"
            )

        _, checked = store_options("sqlite", url, options, cls._OPTIONS)
        return cls(path[1:], **checked)

    @property
    def path(self) -> str:
        """The database file, or ``":memory:"``."""
        return self._path

    @property
    def table(self) -> str:
        """The sessions table's name."""
        return self._table

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r}, table={self._table!r})"

    async def open(self) -> None:
        """Connect and create or check the layout now. Idempotent.

        :raises StoreClosedError: after :meth:`close`.
        :raises schema.LayoutVersionError: if the file holds a layout this release cannot use.
        :raises StoreError: if the file cannot be opened or SQLite fails.
        """
        await self._connection()

    async def close(self) -> None:
        """Close the connection. Idempotent; later calls raise ``StoreClosedError``.

        A ``:memory:`` database is gone once closed.
        """
        self._closed = True
        async with self._open_lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                await conn.close()
            except _DRIVER_ERRORS as exc:
                logger.warning("sqlite store: closing %s failed: %s", self._path, exc)

    async def create(self, session: Session) -> None:
        """Insert ``session``; a row left by an expired session of the same id is replaced.

        :raises DuplicateIDError: if a live session has that id (it is left intact).
        :raises StoreError: if the id, user key or a field cannot be stored as UTF-8 text,
            or SQLite fails.
        """
        row = (
            session.id,
            session.user_key,
            _micros(session.created_at, "created_at"),
            _micros(session.expires_at, "expires_at"),
            None if session.ip is None else str(session.ip),
            session.agent.os,
            session.agent.browser,
            json.dumps(dict(session.meta), separators=(",", ":")),
            _now(),
        )
        try:
            inserted = await self._write("create", self._sql.create, row)
        except UnicodeEncodeError as exc:
            raise StoreError("session id or user key is not valid Unicode text") from exc
        if not inserted:
            raise DuplicateIDError(id_ref(session.id))

    async def fetch_by_id(self, id: str) -> Session | None:
        """The live session with this id, or None (also for a row that cannot be decoded)."""
        try:
            rows = await self._read("fetch_by_id", self._sql.fetch_by_id, (id, _now()))
        except UnicodeEncodeError:
            return None
        except _Undecodable:
            rows = _as_text(
                await self._read("fetch_by_id", self._sql.fetch_by_id_raw, (id, _now()))
            )
        if not rows:
            return None
        return self._decode(rows[0])

    async def fetch_by_user_key(self, user_key: str) -> list[Session]:
        """The user's live sessions, oldest first; rows that cannot be decoded are skipped."""
        params = (user_key, _now())
        try:
            rows = await self._read("fetch_by_user_key", self._sql.fetch_by_user_key, params)
        except UnicodeEncodeError:
            return []
        except _Undecodable:
            raw = await self._read("fetch_by_user_key", self._sql.fetch_by_user_key_raw, params)
            rows = _as_text(raw)
        sessions = [self._decode(row) for row in rows]
        return [s for s in sessions if s is not None]

    async def delete_by_id(self, id: str) -> bool:
        """Delete the session; True if a live one was deleted, False if absent or expired.

        The row an expired session left behind is removed too.
        """
        now = _now()
        try:
            deleted = await self._write("delete_by_id", self._sql.delete_live_by_id, (id, now))
            if not deleted:
                await self._write("delete_by_id", self._sql.delete_dead_by_id, (id, now))
        except UnicodeEncodeError:
            return False
        return deleted > 0

    async def delete_by_user_key(self, user_key: str, *, except_ids: Collection[str] = ()) -> int:
        """Delete the user's sessions but those in ``except_ids``; return how many live ones went.

        The deletion is one statement, so a session of the user created meanwhile by another
        process is either deleted with the rest or kept whole. Ids in ``except_ids`` that
        belong to other users are ignored. Rows of the user's expired sessions go as well.

        :raises TypeError: if ``except_ids`` is a single string rather than a collection.
        """
        if isinstance(except_ids, str):
            raise TypeError("except_ids must be a collection of ids, not a single str")
        keep = json.dumps(list(except_ids))
        now = _now()
        try:
            count = await self._write(
                "delete_by_user_key", self._sql.delete_live_by_user, (user_key, now, keep)
            )
            await self._write(
                "delete_by_user_key", self._sql.delete_dead_by_user, (user_key, now, keep)
            )
        except UnicodeEncodeError:
            return 0
        return count

    async def touch(self, id: str, expires_at: datetime) -> bool:
        """Move a live session's expiry to ``expires_at`` if later, in one conditional UPDATE.

        Returns True if the session is live (whether or not its expiry moved), and False,
        writing nothing, if it is absent or expired.

        :raises ValueError: if ``expires_at`` is not a timezone-aware datetime.
        """
        params = (_micros(expires_at, "expires_at"), id, _now())
        try:
            return await self._write("touch", self._sql.touch, params) > 0
        except UnicodeEncodeError:
            return False

    async def delete_expired(self, *, limit: int | None = None) -> int:
        """Remove expired sessions, at most ``limit`` if given, and return how many went.

        Without a limit it works in batches of :data:`PURGE_BATCH`, each its own statement,
        so other processes can write between them; the timeout applies to each batch.

        :raises ValueError: if ``limit`` is not a positive integer.
        """
        if limit is not None and (type(limit) is not int or limit < 1):
            raise ValueError(f"limit must be a positive int or None, got {limit!r}")
        if limit is not None:
            return await self._write("delete_expired", self._sql.purge, (_now(), limit))
        total = 0
        while True:
            removed = await self._write("delete_expired", self._sql.purge, (_now(), PURGE_BATCH))
            total += removed
            if removed < PURGE_BATCH:
                return total

    async def _connection(self) -> aiosqlite.Connection:
        conn = self._conn
        if conn is not None:
            return conn
        if self._closed:
            raise StoreClosedError(f"the sqlite store on {self._path} is closed")
        async with self._open_lock:
            if self._closed:
                raise StoreClosedError(f"the sqlite store on {self._path} is closed")
            if self._conn is None:
                self._conn = await self._connect()
            return self._conn

    async def _connect(self) -> aiosqlite.Connection:
        if self._path != _MEMORY:
            # Caught here for a clearer message than SQLite's "unable to open database file".
            folder = await asyncio.to_thread(_missing_folder, self._path)
            if folder is not None:
                missing = FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), folder)
                raise StoreError(
                    f"cannot open the sqlite store on {self._path}: folder {folder} does not exist"
                ) from missing
        conn: aiosqlite.Connection | None = None
        try:
            async with asyncio.timeout(self._timeout):
                conn = await aiosqlite.connect(
                    self._path, timeout=self._busy_timeout, isolation_level=None
                )
                await schema.prepare(conn, self._table, self._synchronous, self._path)
        except BaseException as exc:
            if conn is not None:
                await _close_quietly(conn)
            if isinstance(exc, StoreError):
                raise
            if isinstance(exc, TimeoutError):
                raise StoreError(
                    f"opening the sqlite store on {self._path} took more than {self._timeout:g} s"
                ) from exc
            if isinstance(exc, _DRIVER_ERRORS):
                raise StoreError(f"cannot open the sqlite store on {self._path}: {exc}") from exc
            raise
        return conn

    async def _read(self, op: str, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        conn = self._conn or await self._connection()
        try:
            async with Deadline(self._timeout):
                rows = await conn.execute_fetchall(sql, params)
                # Without a row factory, sqlite3 gives plain tuples.
                return cast("list[tuple[Any, ...]]", rows)
        except UnicodeEncodeError:
            raise
        except sqlite3.OperationalError as exc:
            if "decode to UTF-8" in str(exc):
                raise _Undecodable from exc
            self._fail(op, exc)
        except (*_DRIVER_ERRORS, TimeoutError) as exc:
            self._fail(op, exc)

    async def _write(self, op: str, sql: str, params: Sequence[object]) -> int:
        conn = self._conn or await self._connection()
        try:
            async with Deadline(self._timeout), conn.execute(sql, params) as cursor:
                return cursor.rowcount
        except UnicodeEncodeError:
            raise
        except (*_DRIVER_ERRORS, TimeoutError) as exc:
            self._fail(op, exc)

    def _fail(self, op: str, exc: BaseException) -> NoReturn:
        if self._closed:
            raise StoreClosedError(f"the sqlite store on {self._path} is closed") from exc
        if isinstance(exc, TimeoutError):
            raise StoreError(
                f"sqlite store {op} on {self._path} took more than {self._timeout:g} s"
            ) from exc
        raise StoreError(f"sqlite store {op} on {self._path} failed: {exc}") from exc

    def _decode(self, row: Sequence[Any]) -> Session | None:
        """The session a row holds, or None (logged) if it cannot be decoded."""
        sid, user_key, created_at, expires_at, ip, os_name, browser, meta = row
        try:
            if type(sid) is not str or type(user_key) is not str:
                raise ValueError("id and user_key must be text")
            if type(created_at) is not int or type(expires_at) is not int:
                raise ValueError("timestamps must be integers")
            return Session(
                id=sid,
                user_key=user_key,
                created_at=_EPOCH + timedelta(microseconds=created_at),
                expires_at=_EPOCH + timedelta(microseconds=expires_at),
                ip=None if ip is None else _ip(ip),
                agent=_agent(os_name, browser),
                meta=_meta(meta),
            )
        except (ValueError, TypeError, OverflowError) as exc:
            ref = id_ref(sid) if isinstance(sid, str) else "unreadable"
            logger.warning(
                "sqlite store: session %s in table %s of %s cannot be decoded, "
                "treated as absent: %s",
                ref,
                self._table,
                self._path,
                exc,
            )
            return None


class _Undecodable(Exception):
    """A fetched row holds text that is not valid UTF-8; re-read it as bytes."""


class _Statements:
    """Every SQL statement of one store, written once for its table name."""

    __slots__ = (
        "create",
        "delete_dead_by_id",
        "delete_dead_by_user",
        "delete_live_by_id",
        "delete_live_by_user",
        "fetch_by_id",
        "fetch_by_id_raw",
        "fetch_by_user_key",
        "fetch_by_user_key_raw",
        "purge",
        "touch",
    )

    def __init__(self, table: str) -> None:
        def sql(template: str) -> str:
            return schema.for_table(template, table)

        # An id held by an expired session may be reused: the conflict turns into an
        # update only then, so a live session is never overwritten and a zero row count
        # means a live duplicate.
        self.create = sql(
            "INSERT INTO {t} (id, user_key, created_at, expires_at, ip, os, browser, meta) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET user_key = excluded.user_key, "
            "created_at = excluded.created_at, expires_at = excluded.expires_at, "
            "ip = excluded.ip, os = excluded.os, browser = excluded.browser, "
            "meta = excluded.meta WHERE {t}.expires_at <= ?"
        )
        by_id = " FROM {t} WHERE id = ? AND expires_at > ?"
        by_user = " FROM {t} WHERE user_key = ? AND expires_at > ? ORDER BY created_at"
        self.fetch_by_id = sql("SELECT " + _COLUMNS + by_id)
        self.fetch_by_id_raw = sql("SELECT " + _BLOB_COLUMNS + by_id)
        self.fetch_by_user_key = sql("SELECT " + _COLUMNS + by_user)
        self.fetch_by_user_key_raw = sql("SELECT " + _BLOB_COLUMNS + by_user)
        self.delete_live_by_id = sql("DELETE FROM {t} WHERE id = ? AND expires_at > ?")
        self.delete_dead_by_id = sql("DELETE FROM {t} WHERE id = ? AND expires_at <= ?")
        self.delete_live_by_user = sql(
            "DELETE FROM {t} WHERE user_key = ? AND expires_at > ? "
            "AND id NOT IN (SELECT value FROM json_each(?))"
        )
        self.delete_dead_by_user = sql(
            "DELETE FROM {t} WHERE user_key = ? AND expires_at <= ? "
            "AND id NOT IN (SELECT value FROM json_each(?))"
        )
        # max() keeps expiry from moving back; the row count says the session is live.
        self.touch = sql(
            "UPDATE {t} SET expires_at = max(expires_at, ?) WHERE id = ? AND expires_at > ?"
        )
        self.purge = sql(
            "DELETE FROM {t} WHERE id IN "
            "(SELECT id FROM {t} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)"
        )


def _as_text(rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows read as bytes, with each value that is valid UTF-8 turned back into text.

    What stays bytes fails decoding later, so only the tampered rows are dropped.
    """
    return [tuple(_text(v) if isinstance(v, bytes) else v for v in row) for row in rows]


def _text(value: bytes) -> str | bytes:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


@functools.lru_cache(maxsize=4096)
def _ip(value: object) -> IPAddress:
    # A user's sessions mostly share a few addresses, and parsing one costs microseconds.
    if type(value) is not str:
        raise ValueError(f"ip column holds {type(value).__name__}, not text")
    return ipaddress.ip_address(value)


@functools.lru_cache(maxsize=1024)
def _agent(os_name: object, browser: object) -> Agent:
    if not (os_name is None or type(os_name) is str) or not (
        browser is None or type(browser) is str
    ):
        raise ValueError("os and browser must be text or NULL")
    return Agent(os=os_name, browser=browser)


@functools.lru_cache(maxsize=4096)
def _meta(value: object) -> Mapping[str, str]:
    # Cached like the address: the mapping is read-only, so sessions may share it.
    if value == "{}":
        return _NO_META
    if type(value) is not str:
        raise ValueError(f"meta column holds {type(value).__name__}, not JSON text")
    meta = json.loads(value)
    if type(meta) is not dict or not all(
        type(k) is str and type(v) is str for k, v in meta.items()
    ):
        raise ValueError("meta must be a JSON object of strings")
    return MappingProxyType(meta)


def _missing_folder(path: str) -> str | None:
    """The folder that should hold ``path`` if it does not exist, else None."""
    folder = os.path.dirname(os.path.abspath(path))
    return None if os.path.isdir(folder) else folder


async def _close_quietly(conn: aiosqlite.Connection) -> None:
    try:
        await asyncio.shield(conn.close())
    except (*_DRIVER_ERRORS, asyncio.CancelledError):
        logger.debug("sqlite store: closing a failed connection raised", exc_info=True)
