"""The PostgreSQL store: one row per session, read and written over a psycopg pool."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, TypeVar

import psycopg
from psycopg import AsyncConnection, errors, sql
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from sessionup.core.errors import DuplicateIDError, StoreClosedError, StoreError, StoreURLError
from sessionup.core.plugins import url_scheme
from sessionup.core.session import Agent, Session
from sessionup.core.store import StoreBase, StoreTraits
from sessionup.core.tokens import id_ref

from . import _config, _schema

__all__ = ["SCHEMES", "PostgresStore"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Row = tuple[Any, ...]
Connection = AsyncConnection[Row]

# How long the pool keeps retrying a lost connection slot before giving it up. A slot
# given up is opened again by the next request, so this caps the reconnection backoff
# (which doubles from 1 s) and therefore how long recovery can lag behind the server.
_RECONNECT_TIMEOUT: Final = 15.0
# Time allowed, beyond the statement timeout, for the server's own cancellation to arrive
# before the client gives up on a statement.
_STATEMENT_GRACE: Final = 1.0

# What an inet column holding a single address loads as (a prefix gives an Interface).
_ADDRESS_TYPES: Final = (ipaddress.IPv4Address, ipaddress.IPv6Address)

#: The URL schemes this store answers to.
SCHEMES: Final = ("postgresql", "postgres")

_COLUMNS: Final = sql.SQL("id, user_key, created_at, expires_at, ip, agent_os, agent_browser, meta")


def _storable(text: str) -> bool:
    """Whether PostgreSQL text can hold ``text``: no NUL, and encodable as UTF-8."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class PostgresStore(StoreBase):
    """Sessions in a PostgreSQL table, over a psycopg 3 connection pool.

    :param conninfo: a libpq connection string or URL (``postgresql://user@host/db?...``).
    :param libpq: further libpq connection parameters (``sslmode``, ``application_name``...).
    :param options: the store's options, as listed in the package README: ``min_size``,
        ``max_size``, ``schema``, ``table``, ``connect_timeout``, ``statement_timeout``,
        ``prepare_threshold``, ``pgbouncer``, ``purge_batch_size``.

    The constructor only checks its arguments; the pool is created, and the table created
    or migrated, on :meth:`open` or first use. Every failure of the server surfaces as
    :class:`~sessionup.core.StoreError` within ``connect_timeout`` plus
    ``statement_timeout`` (roughly: a cancelled statement may take a moment more).

    :raises StoreURLError: for a malformed URL or a bad option, naming it.
    """

    traits = StoreTraits(persistent=True, expiry_precision=timedelta(microseconds=1))

    def __init__(
        self,
        conninfo: str = "",
        *,
        libpq: Mapping[str, str | int] | None = None,
        min_size: int = 1,
        max_size: int = 10,
        schema: str = "public",
        table: str = "sessionup_sessions",
        connect_timeout: timedelta = timedelta(seconds=5),
        statement_timeout: timedelta = timedelta(seconds=5),
        prepare_threshold: int | None = 5,
        pgbouncer: bool = False,
        purge_batch_size: int = 1000,
    ) -> None:
        self._adopt(
            _config.build(
                conninfo,
                libpq,
                min_size=min_size,
                max_size=max_size,
                schema=schema,
                table=table,
                connect_timeout=connect_timeout,
                statement_timeout=statement_timeout,
                prepare_threshold=prepare_threshold,
                pgbouncer=pgbouncer,
                purge_batch_size=purge_batch_size,
            )
        )

    @classmethod
    def from_url(cls, url: str, **options: Any) -> PostgresStore:
        """Build from a ``postgresql://`` or ``postgres://`` URL.

        The query string may hold the store's options and any libpq parameter; keyword
        ``options`` may too. libpq parameters are passed on untouched; an option that is
        neither the store's nor libpq's is an error.

        :raises StoreURLError: for an unknown option, a bad value, or a malformed URL.
        """
        scheme = url_scheme(url)
        if scheme not in SCHEMES:
            raise StoreURLError(
                f"a PostgreSQL store URL starts with postgresql://, got {scheme}://"
            )
        settings = _config.settings(url, options, scheme=scheme)
        store = cls.__new__(cls)
        store._adopt(settings)
        return store

    def _adopt(self, settings: _config.Settings) -> None:
        self._settings = settings
        self._names = _schema.Names(settings.schema, settings.table)
        self._queries = _queries(self._names)
        self._pool: AsyncConnectionPool[Connection] | None = None
        self._open_lock: asyncio.Lock | None = None
        self._ready = False
        self._closed = False
        self._checking: asyncio.Task[None] | None = None
        self._connect_seconds = settings.connect_timeout.total_seconds()
        self._statement_seconds = settings.statement_timeout.total_seconds()

    @property
    def schema(self) -> str:
        """The schema holding the sessions table."""
        return self._settings.schema

    @property
    def table(self) -> str:
        """The sessions table's name."""
        return self._settings.table

    @property
    def pool(self) -> AsyncConnectionPool[Connection] | None:
        """The connection pool, once opened; for sharing it with the application's queries."""
        return self._pool

    async def open(self) -> None:
        """Create the pool and the tables (or migrate them) now. Idempotent.

        :raises StoreClosedError: after :meth:`close`.
        :raises LayoutVersionError: if the table's layout is newer than this release.
        :raises StoreError: if the server cannot be reached or refuses the schema.
        """
        self._check_open()
        if self._ready:
            return
        if self._open_lock is None:
            self._open_lock = asyncio.Lock()
        async with self._open_lock:
            self._check_open()
            if self._ready:
                return
            if self._pool is None:
                self._pool = self._make_pool()
                await self._pool.open(wait=False)
            await self._run("open", self._ensure_layout, ready=False)
            self._ready = True

    async def close(self) -> None:
        """Close the pool. Idempotent; every later call raises ``StoreClosedError``."""
        self._closed = True
        self._ready = False
        checking, self._checking = self._checking, None
        if checking is not None:
            checking.cancel()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close(timeout=self._connect_seconds)

    async def create(self, session: Session) -> None:
        """Insert ``session``; an expired session of the same id is replaced.

        :raises DuplicateIDError: if a live session has this id (it is left intact).
        :raises StoreError: if a text field holds NUL or unpaired surrogates, which
            PostgreSQL text cannot hold, or the server fails.
        """
        self._check_storable(session)
        params = (
            session.id,
            session.user_key,
            session.created_at,
            session.expires_at,
            None if session.ip is None else str(session.ip),
            session.agent.os,
            session.agent.browser,
            Jsonb(dict(session.meta)),
            datetime.now(UTC),
        )

        async def work(conn: Connection) -> bool:
            cur = await conn.execute(self._queries["create"], params)
            return cur.rowcount == 1

        if not await self._run("create", work):
            raise DuplicateIDError(id_ref(session.id))

    async def fetch_by_id(self, id: str) -> Session | None:
        """The live session with this id, or None (also for an id no session could have)."""
        self._check_open()
        if not _storable(id):
            return None
        params = (id, datetime.now(UTC))

        async def work(conn: Connection) -> Row | None:
            cur = await conn.execute(self._queries["fetch_by_id"], params)
            return await cur.fetchone()

        row = await self._run("fetch_by_id", work, retry=True)
        return None if row is None else self._decode(row)

    async def fetch_by_user_key(self, user_key: str) -> list[Session]:
        """The user's live sessions, in no particular order; an empty list if none."""
        self._check_open()
        if not _storable(user_key):
            return []
        params = (user_key, datetime.now(UTC))

        async def work(conn: Connection) -> list[Row]:
            cur = await conn.execute(self._queries["fetch_by_user_key"], params)
            return await cur.fetchall()

        rows = await self._run("fetch_by_user_key", work, retry=True)
        return [s for s in map(self._decode, rows) if s is not None]

    async def delete_by_id(self, id: str) -> bool:
        """Delete the session; True if a live one was deleted. An expired one goes too."""
        self._check_open()
        if not _storable(id):
            return False
        params = (id,)
        now = datetime.now(UTC)

        async def work(conn: Connection) -> Row | None:
            cur = await conn.execute(self._queries["delete_by_id"], params)
            return await cur.fetchone()

        row = await self._run("delete_by_id", work)
        return row is not None and row[0] > now

    async def delete_by_user_key(self, user_key: str, *, except_ids: Collection[str] = ()) -> int:
        """Delete the user's sessions but those in ``except_ids``, in one statement.

        Returns how many live sessions went (expired ones are removed too, uncounted). Ids
        of other users' sessions in ``except_ids`` change nothing.
        """
        self._check_open()
        if not _storable(user_key):
            return 0
        keep = [i for i in except_ids if _storable(i)]
        params = (user_key, keep, datetime.now(UTC))

        async def work(conn: Connection) -> int:
            cur = await conn.execute(self._queries["delete_by_user_key"], params)
            row = await cur.fetchone()
            return 0 if row is None else int(row[0])

        return await self._run("delete_by_user_key", work)

    async def touch(self, id: str, expires_at: datetime) -> bool:
        """Move a live session's expiry to ``expires_at`` if later, in one conditional UPDATE.

        Returns True if the session is live, False (and writes nothing) if absent or expired.
        """
        self._check_open()
        if expires_at.tzinfo is None or expires_at.utcoffset() is None:
            raise ValueError(f"expires_at must be timezone-aware, got {expires_at!r}")
        if not _storable(id):
            return False
        params = (expires_at, id, datetime.now(UTC))

        async def work(conn: Connection) -> bool:
            cur = await conn.execute(self._queries["touch"], params)
            return cur.rowcount == 1

        return await self._run("touch", work, retry=True)

    async def delete_expired(self, *, limit: int | None = None) -> int:
        """Remove expired sessions in batches of ``purge_batch_size``; at most ``limit``.

        Each batch is its own short statement that skips rows other transactions hold
        locked, so a purge never blocks requests for long. Returns how many went.
        """
        self._check_open()
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise TypeError(f"limit must be an int or None, got {type(limit).__name__}")
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        batch = self._settings.purge_batch_size
        removed = 0
        while limit is None or removed < limit:
            size = batch if limit is None else min(batch, limit - removed)
            params = (datetime.now(UTC), size)

            async def work(conn: Connection, params: tuple[datetime, int] = params) -> int:
                cur = await conn.execute(self._queries["delete_expired"], params)
                return cur.rowcount

            count = await self._run("delete_expired", work)
            removed += count
            if count < size:
                break
        if removed:
            logger.debug("postgres store: purged %d expired sessions", removed)
        return removed

    def _make_pool(self) -> AsyncConnectionPool[Connection]:
        settings = self._settings
        return AsyncConnectionPool(
            settings.conninfo,
            kwargs={"autocommit": True, "prepare_threshold": settings.prepare_threshold},
            min_size=settings.min_size,
            max_size=settings.max_size,
            open=False,
            configure=self._configure,
            timeout=self._connect_seconds,
            reconnect_timeout=_RECONNECT_TIMEOUT,
            name=f"sessionup-{settings.schema}.{settings.table}",
        )

    async def _configure(self, conn: Connection) -> None:
        """Set up each new connection: UTC timestamps, and the server-side timeout.

        Behind PgBouncer in transaction mode a session-level setting would stay on a
        server connection other clients then get, so the statement timeout is left to the
        client side there. ``TimeZone`` is safe: PgBouncer tracks it per client.
        """
        if self._settings.pgbouncer:
            await conn.execute("SELECT set_config('TimeZone', 'UTC', false)", prepare=False)
            return
        millis = max(1, round(self._statement_seconds * 1000))
        await conn.execute(
            "SELECT set_config('TimeZone', 'UTC', false),"
            " set_config('statement_timeout', %s, false)",
            (str(millis),),
            prepare=False,
        )

    async def _ensure_layout(self, conn: Connection) -> None:
        await _schema.ensure_layout(conn, self._names)

    async def _run(
        self,
        operation: str,
        work: Callable[[Connection], Awaitable[T]],
        *,
        retry: bool = False,
        ready: bool = True,
    ) -> T:
        """Run ``work`` on a pooled connection within bounded time; failures as StoreError.

        A statement that fails because its connection died (the server restarted, say)
        makes the pool check its idle connections and replace the dead ones. With ``retry``
        (reads and touch, which are safe to repeat) the check is awaited and ``work`` runs
        once more, so the stale connections a restart leaves behind cost no request.
        """
        if ready and not self._ready:
            await self.open()
        pool = self._pool
        if pool is None:
            raise StoreClosedError("the postgres store is closed")
        attempts = 2 if retry else 1
        deadline = attempts * self._connect_seconds + self._statement_seconds + _STATEMENT_GRACE
        try:
            async with asyncio.timeout(deadline):
                for attempt in range(1, attempts + 1):
                    try:
                        async with pool.connection(timeout=self._connect_seconds) as conn:
                            return await work(conn)
                    except (PoolTimeout, errors.QueryCanceled):
                        raise
                    except psycopg.OperationalError:
                        if attempt == attempts:
                            self._check_pool(pool)
                            raise
                        logger.info("postgres store: %s lost its connection; retrying", operation)
                        await pool.check()
        except StoreError:
            raise
        except PoolTimeout as exc:
            raise self._error(operation, "no connection to the server", exc) from exc
        except TimeoutError as exc:
            raise self._error(operation, f"no answer within {deadline:g} s", exc) from exc
        except errors.QueryCanceled as exc:
            raise self._error(operation, "statement timed out", exc) from exc
        except psycopg.OperationalError as exc:
            raise self._error(operation, "connection failed", exc) from exc
        except psycopg.Error as exc:
            raise self._error(operation, "the server refused it", exc) from exc
        raise AssertionError("unreachable")

    def _error(self, operation: str, reason: str, exc: BaseException) -> StoreError:
        detail = _primary_message(exc)
        logger.error(
            "postgres store: %s on %s.%s failed: %s (%s)",
            operation,
            self._settings.schema,
            self._settings.table,
            reason,
            detail,
        )
        return StoreError(f"PostgreSQL store: {operation} failed: {reason}: {detail}")

    def _check_pool(self, pool: AsyncConnectionPool[Connection]) -> None:
        """Have the pool drop its other dead connections, once at a time, in the background."""
        if self._checking is not None and not self._checking.done():
            return
        self._checking = asyncio.get_running_loop().create_task(
            _quietly(pool.check()), name="sessionup-postgres-check"
        )

    def _decode(self, row: Row) -> Session | None:
        """Build a session from a row; log and return None for one that does not fit."""
        sid, user_key, created_at, expires_at, ip, agent_os, agent_browser, meta = row
        try:
            if ip is not None and type(ip) not in _ADDRESS_TYPES:
                raise ValueError(f"ip is {type(ip).__name__}, not a single address")
            if type(meta) is not dict or not all(
                type(k) is str and type(v) is str for k, v in meta.items()
            ):
                raise ValueError("meta is not an object of strings")
            return Session(
                id=sid,
                user_key=user_key,
                created_at=created_at,
                expires_at=expires_at,
                ip=ip,
                agent=Agent(os=agent_os, browser=agent_browser),
                meta=MappingProxyType(meta),
            )
        except (TypeError, ValueError) as exc:
            logger.warning(
                "postgres store: ignoring undecodable session %s in %s.%s: %s",
                id_ref(str(sid)),
                self._settings.schema,
                self._settings.table,
                exc,
            )
            return None

    def _check_storable(self, session: Session) -> None:
        self._check_open()
        texts = [session.id, session.user_key, session.agent.os or "", session.agent.browser or ""]
        texts += [part for item in session.meta.items() for part in item]
        for text in texts:
            if not _storable(text):
                raise StoreError(
                    "PostgreSQL store: create refused: a text field of the session "
                    f"(id digest {id_ref(session.id)}) holds NUL or unpaired surrogates, "
                    "which PostgreSQL text cannot hold"
                )

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError("the postgres store is closed")


def _queries(names: _schema.Names) -> dict[str, bytes]:
    """Every statement the store runs, composed once with its quoted identifiers."""
    table = names.sessions
    statements = {
        # One statement for "insert unless a live session holds the id": an expired one is
        # overwritten in place, a live one makes the row count 0.
        "create": sql.SQL(
            "INSERT INTO {table} AS s ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET user_key = EXCLUDED.user_key,"
            " created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,"
            " ip = EXCLUDED.ip, agent_os = EXCLUDED.agent_os,"
            " agent_browser = EXCLUDED.agent_browser, meta = EXCLUDED.meta"
            " WHERE s.expires_at <= %s"
        ),
        "fetch_by_id": sql.SQL("SELECT {columns} FROM {table} WHERE id = %s AND expires_at > %s"),
        "fetch_by_user_key": sql.SQL(
            "SELECT {columns} FROM {table} WHERE user_key = %s AND expires_at > %s"
        ),
        "delete_by_id": sql.SQL("DELETE FROM {table} WHERE id = %s RETURNING expires_at"),
        "delete_by_user_key": sql.SQL(
            "WITH gone AS (DELETE FROM {table} WHERE user_key = %s AND id <> ALL(%s::text[])"
            " RETURNING expires_at)"
            " SELECT count(*) FILTER (WHERE expires_at > %s) FROM gone"
        ),
        "touch": sql.SQL(
            "UPDATE {table} SET expires_at = GREATEST(expires_at, %s)"
            " WHERE id = %s AND expires_at > %s"
        ),
        "delete_expired": sql.SQL(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE expires_at <= %s"
            " LIMIT %s FOR UPDATE SKIP LOCKED)"
        ),
    }
    return {
        name: statement.format(table=table, columns=_COLUMNS).as_bytes(None)
        for name, statement in statements.items()
    }


def _primary_message(exc: BaseException) -> str:
    """The error's first line: the server's primary message, never its DETAIL (which may
    quote a row's values, session ids among them)."""
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        return exc.diag.message_primary
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def _quietly(check: Awaitable[None]) -> None:
    try:
        await check
    except Exception:  # the pool logs what it finds; a failed check changes nothing here
        logger.debug("postgres store: pool check failed", exc_info=True)
