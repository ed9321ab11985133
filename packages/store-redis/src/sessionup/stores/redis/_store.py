"""The Redis store: one server or a Redis Cluster, on redis-py's asyncio client."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Final

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sessionup.core.errors import DuplicateIDError, StoreClosedError, StoreError, StoreURLError
from sessionup.core.plugins import store_options
from sessionup.core.session import (
    Session,
    datetime_to_micros,
    session_from_record,
    session_to_record,
)
from sessionup.core.store import StoreBase, StoreTraits
from sessionup.core.tokens import id_ref

from ._keys import LAYOUT_VERSION, KeyLayout
from ._scripts import INDEX_ADD, INDEX_FORGET, INDEX_LIVE, RECORD_DELETE, RECORD_REPLACE, Script
from ._url import Target, parse_target

__all__ = ["RedisStore"]

logger = logging.getLogger(__name__)

# What the driver raises when the server is unreachable, slow or refuses a command.
_DRIVER_ERRORS: Final = (RedisError, RedisClusterException, OSError, TimeoutError)

# How often a compare-and-set that lost a race is read and tried again before giving up.
_ATTEMPTS: Final = 8

_INDEX_ADD: Final = Script(INDEX_ADD)
_INDEX_LIVE: Final = Script(INDEX_LIVE)
_INDEX_FORGET: Final = Script(INDEX_FORGET)
_RECORD_REPLACE: Final = Script(RECORD_REPLACE)
_RECORD_DELETE: Final = Script(RECORD_DELETE)

_CERT_REQS: Final = ("required", "optional", "none")


class RedisStore(StoreBase):
    """Sessions in Redis: each a JSON string expiring by itself, indexed per user.

    ``url`` is ``redis://[user:password@]host[:port][/db]``, ``rediss://`` for TLS,
    ``unix:///path/to/socket``, or ``redis+cluster://host:port[,host:port...]`` (and
    ``rediss+cluster://``) for a Redis Cluster reached through one or more seed nodes. The
    constructor only checks its arguments; the store connects on :meth:`open` or first use.

    Every operation is a short, fixed sequence of commands that each read or write one key,
    so it behaves the same on one server and across a cluster's slots. A failure of the
    server, or no answer within the timeouts, raises :class:`~sessionup.core.StoreError`
    with the driver's exception as its cause; the store keeps no broken state and works
    again as soon as the server does.

    :param prefix: start of every key the store writes (any characters; default
        ``"sessionup:"``). Stores with different prefixes share a server without meeting.
    :param pool_size: most connections held open (per node, on a cluster), and so the most
        operations in flight at once; more wait for a free connection.
    :param socket_timeout: longest wait for one reply.
    :param connect_timeout: longest wait for a connection to be made.
    :param pool_timeout: longest wait for a free connection when all ``pool_size`` are busy
        (default: ``connect_timeout``).
    :param retries: how many times a command that failed for a lost connection or a timeout
        is sent again, on a new connection, before the operation fails.
    :param client_name: name shown by ``CLIENT LIST``.
    :param db: the database number, for ``unix://`` URLs or instead of the URL path.
    :param ssl_ca_certs: CA bundle file for ``rediss`` URLs.
    :param ssl_certfile: client certificate file for ``rediss`` URLs.
    :param ssl_keyfile: client key file for ``rediss`` URLs.
    :param ssl_cert_reqs: ``"required"`` (default), ``"optional"`` or ``"none"``.
    :param ssl_check_hostname: check the server's name against its certificate (default).
    :raises StoreURLError: for a malformed URL or an option out of range.

    >>> store = RedisStore("redis+cluster://10.0.0.1:7000,10.0.0.2:7000", prefix="app:")
    >>> store.cluster
    True
    """

    traits = StoreTraits(persistent=True, native_ttl=True)

    _OPTIONS: Final[dict[str, type]] = {
        "prefix": str,
        "pool_size": int,
        "socket_timeout": timedelta,
        "connect_timeout": timedelta,
        "pool_timeout": timedelta,
        "retries": int,
        "client_name": str,
        "db": int,
        "ssl_ca_certs": str,
        "ssl_certfile": str,
        "ssl_keyfile": str,
        "ssl_cert_reqs": str,
        "ssl_check_hostname": bool,
    }

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "sessionup:",
        pool_size: int = 32,
        socket_timeout: timedelta = timedelta(seconds=2),
        connect_timeout: timedelta = timedelta(seconds=2),
        pool_timeout: timedelta | None = None,
        retries: int = 1,
        client_name: str | None = None,
        db: int | None = None,
        ssl_ca_certs: str | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        ssl_cert_reqs: str = "required",
        ssl_check_hostname: bool = True,
    ) -> None:
        if isinstance(url, str) and "?" in url:
            raise StoreURLError("RedisStore takes a URL without a query; use RedisStore.from_url")
        target = parse_target(url)
        if not isinstance(prefix, str) or not prefix:
            raise StoreURLError(f"option 'prefix' must be a non-empty string, got {prefix!r}")
        _check_positive("pool_size", pool_size)
        _check_duration("socket_timeout", socket_timeout)
        _check_duration("connect_timeout", connect_timeout)
        if pool_timeout is not None:
            _check_duration("pool_timeout", pool_timeout)
        if type(retries) is not int or retries < 0:
            raise StoreURLError(f"option 'retries' must be an integer >= 0, got {retries!r}")
        if db is not None:
            target = _with_db(target, db)
        ssl = _ssl_options(target, ssl_ca_certs, ssl_certfile, ssl_keyfile, ssl_cert_reqs)
        if ssl_check_hostname is not True and not target.tls:
            raise StoreURLError(f"ssl_* options need a rediss URL, got {target.scheme}://")

        self._target = target
        self._prefix = prefix
        self._keys = KeyLayout(prefix)
        self._connection: dict[str, Any] = {
            "username": target.username,
            "password": target.password,
            "socket_timeout": socket_timeout.total_seconds(),
            "socket_connect_timeout": connect_timeout.total_seconds(),
            "client_name": client_name,
            "retry": Retry(ExponentialBackoff(cap=0.2, base=0.01), retries),
            # Named as well as given to Retry: redis-py 5 retries only errors listed here.
            "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        }
        if target.tls:
            self._connection.update(ssl_check_hostname=ssl_check_hostname, **ssl)
        self._pool_size = pool_size
        self._pool_timeout = (pool_timeout or connect_timeout).total_seconds()
        self._redis: Any = None
        self._pool: Any = None
        self._opening: asyncio.Lock | None = None
        self._gate: AbstractAsyncContextManager[Any] = (
            _Gate(pool_size, self._pool_timeout) if target.cluster else nullcontext()
        )
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """Build from a URL whose query string holds options, as ``?prefix=app:&pool_size=8``.

        Durations in the query are seconds (``socket_timeout=0.5``). ``options`` passed as
        arguments join those of the query; an option given in both places is an error.

        :raises StoreURLError: for a malformed URL, an unknown option or a bad value.
        """
        if not isinstance(url, str):
            raise StoreURLError(f"redis store URL must be a string, got {type(url).__name__}")
        scheme = parse_target(url.partition("?")[0]).scheme
        base, checked = store_options(scheme, url, options, cls._OPTIONS)
        return cls(base, **checked)

    @property
    def cluster(self) -> bool:
        """Whether the store talks to a Redis Cluster."""
        return self._target.cluster

    @property
    def prefix(self) -> str:
        """The prefix of every key the store writes."""
        return self._prefix

    def __repr__(self) -> str:
        return f"RedisStore({self._target.describe()!r}, prefix={self._prefix!r})"

    async def open(self) -> None:
        """Connect and check the layout version under the prefix. Idempotent.

        :raises StoreError: if the server cannot be reached, or the prefix holds data of a
            layout this release does not read.
        """
        await self._client()

    async def close(self) -> None:
        """Close every connection. Idempotent; later calls raise ``StoreClosedError``."""
        self._closed = True
        client, self._redis = self._redis, None
        pool, self._pool = self._pool, None
        if client is None:
            return
        try:
            await client.aclose()
            if pool is not None:
                await pool.disconnect()
        except _DRIVER_ERRORS as exc:
            logger.debug("redis store: error while closing %s: %s", self._target.describe(), exc)

    async def create(self, session: Session) -> None:
        """Insert ``session``; ``DuplicateIDError`` if a live session has its id.

        The record is written first and then indexed. If indexing fails, the record is
        removed again on a best-effort basis and ``StoreError`` is raised: the caller never
        hands out its token, so a record left behind is unreachable and expires by itself.
        """
        client = await self._client()
        async with self._gate:
            key = self._keys.record(session.id)
            value = _encode(session)
            expiry = _ceil_ms(session.expires_at)
            now = datetime.now(UTC)
            try:
                if session.expires_at <= now:
                    # Nothing to keep: an expired session does not exist. Only a clash matters.
                    if await self._live_raw(client, key, session.id) is not None:
                        raise DuplicateIDError(id_ref(session.id))
                    return
                written = await client.execute_command("SET", key, value, "NX", "PXAT", expiry)
                if not written:
                    await self._replace_dead(client, key, session, value, expiry)
                await self._index(client, key, session, value, expiry, now)
            except _DRIVER_ERRORS as exc:
                raise self._failure("create", exc) from exc

    async def fetch_by_id(self, id: str) -> Session | None:
        """The live session with this id, or None (also for a record that cannot be read)."""
        client = await self._client()
        async with self._gate:
            try:
                raw = await client.execute_command("GET", self._keys.record(id))
            except _DRIVER_ERRORS as exc:
                raise self._failure("fetch_by_id", exc) from exc
            if raw is None:
                return None
            session = _decode(raw, id)
            if session is None or session.expires_at <= datetime.now(UTC):
                return None
            return session

    async def fetch_by_user_key(self, user_key: str) -> list[Session]:
        """The user's live sessions, in no particular order; an empty list if none.

        Two round trips whatever the number of sessions: the index (dead entries dropped on
        the way), then every record at once (one pipeline per node on a cluster).
        """
        client = await self._client()
        async with self._gate:
            now = datetime.now(UTC)
            try:
                entries = await self._entries(client, user_key, now)
                if not entries:
                    return []
                raws = await self._get_many(client, [self._keys.record(i) for i, _ in entries])
                sessions: list[Session] = []
                gone: list[tuple[str, bytes]] = []
                for (sid, score), raw in zip(entries, raws, strict=True):
                    if raw is None:
                        gone.append((sid, score))
                        continue
                    session = _decode(raw, sid)
                    if session is None or session.user_key != user_key:
                        continue
                    if session.expires_at > now:
                        sessions.append(session)
                if gone:
                    await self._forget(client, user_key, gone)
            except _DRIVER_ERRORS as exc:
                raise self._failure("fetch_by_user_key", exc) from exc
            return sessions

    async def delete_by_id(self, id: str) -> bool:
        """Delete the session; True if a live one was deleted, False (no error) if absent."""
        client = await self._client()
        async with self._gate:
            try:
                raw = await client.execute_command("GETDEL", self._keys.record(id))
                if raw is None:
                    return False
                session = _decode(raw, id)
                if session is None:
                    return False
                await client.execute_command(
                    "ZREM", self._keys.index(session.user_key), _member(session.id)
                )
            except _DRIVER_ERRORS as exc:
                raise self._failure("delete_by_id", exc) from exc
            return session.expires_at > datetime.now(UTC)

    async def delete_by_user_key(self, user_key: str, *, except_ids: Collection[str] = ()) -> int:
        """Delete the user's sessions but those in ``except_ids``; return how many live went.

        Only ids found in the user's own index are considered, and a record is deleted
        only if it names this user, so ids of other users are never touched. Each record
        is deleted by compare-and-delete on the value just read: a session touched at the
        same moment is read again and deleted, never left behind.
        """
        client = await self._client()
        async with self._gate:
            try:
                return await self._delete_user(client, user_key, set(except_ids))
            except _DRIVER_ERRORS as exc:
                raise self._failure("delete_by_user_key", exc) from exc

    async def touch(self, id: str, expires_at: datetime) -> bool:
        """Move a live session's expiry to ``expires_at`` if that is later.

        True if the session is live (whether or not its expiry moved); False, writing
        nothing, if it is absent or expired. The index is raised before the record, so an
        index entry is never older than its record; the record is replaced only if it is
        still the one read (compare-and-set), so a session deleted meanwhile stays deleted.
        """
        if expires_at.tzinfo is None or expires_at.utcoffset() is None:
            raise ValueError(f"expires_at must be timezone-aware, got {expires_at!r}")
        client = await self._client()
        async with self._gate:
            try:
                return await self._touch(client, id, expires_at.astimezone(UTC))
            except _DRIVER_ERRORS as exc:
                raise self._failure("touch", exc) from exc

    async def delete_expired(self, *, limit: int | None = None) -> int:
        """Return 0: Redis removes each record at its expiry, and index entries go when met.

        :raises ValueError: if ``limit`` is given and is not an integer >= 0.
        """
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValueError(f"limit must be an integer >= 0 or None, got {limit!r}")
        await self._client()
        return 0

    async def _client(self) -> Any:
        if self._closed:
            raise StoreClosedError(f"the redis store for {self._target.describe()} is closed")
        if self._redis is not None:
            return self._redis
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._redis is None and not self._closed:
                client, pool = self._make_client()
                try:
                    await self._check_layout(client)
                except BaseException as exc:
                    await client.aclose()
                    if pool is not None:
                        await pool.disconnect()
                    if isinstance(exc, _DRIVER_ERRORS):
                        raise self._failure("open", exc) from exc
                    raise
                self._redis, self._pool = client, pool
        if self._closed:
            raise StoreClosedError(f"the redis store for {self._target.describe()} is closed")
        return self._redis

    def _make_client(self) -> tuple[Any, Any]:
        target = self._target
        if target.cluster:
            from redis.asyncio.cluster import ClusterNode, RedisCluster

            nodes = [ClusterNode(host, port) for host, port in target.nodes]
            ssl: dict[str, Any] = {"ssl": True} if target.tls else {}
            cluster = RedisCluster(
                startup_nodes=nodes,
                max_connections=self._pool_size,
                require_full_coverage=True,
                **ssl,
                **self._connection,
            )
            return cluster, None

        from redis.asyncio import BlockingConnectionPool, Redis
        from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection

        where: dict[str, Any]
        if target.socket_path is not None:
            where = {"path": target.socket_path, "connection_class": UnixDomainSocketConnection}
        else:
            host, port = target.nodes[0]
            where = {"host": host, "port": port}
            if target.tls:
                where["connection_class"] = SSLConnection
        pool = BlockingConnectionPool(
            max_connections=self._pool_size,
            timeout=self._pool_timeout,
            db=target.db or 0,
            **where,
            **self._connection,
        )
        return Redis(connection_pool=pool), pool

    async def _check_layout(self, client: Any) -> None:
        version = str(LAYOUT_VERSION).encode()
        if await client.execute_command("SET", self._keys.layout, version, "NX"):
            return
        found = await client.execute_command("GET", self._keys.layout)
        if found is not None and found != version:
            raise StoreError(
                f"keys under prefix {self._prefix!r} use data layout {found!r}; this release "
                f"of sessionup-store-redis reads layout {LAYOUT_VERSION}"
            )

    async def _delete_user(self, client: Any, user_key: str, keep: set[str]) -> int:
        now = datetime.now(UTC)
        entries = await self._entries(client, user_key, now)
        pending = [(sid, score) for sid, score in entries if sid not in keep]
        count, forget = 0, []
        for _ in range(_ATTEMPTS):
            if not pending:
                break
            raws = await self._get_many(client, [self._keys.record(i) for i, _ in pending])
            owned: list[tuple[str, bytes, bytes, bool]] = []
            for (sid, score), raw in zip(pending, raws, strict=True):
                if raw is None:
                    forget.append((sid, score))
                    continue
                session = _decode(raw, sid)
                if session is not None and session.user_key == user_key:
                    owned.append((sid, score, raw, session.expires_at > now))
            calls = [(self._keys.record(sid), (_sha1(raw),)) for sid, _, raw, _ in owned]
            results = await _RECORD_DELETE.run_many(client, calls)
            pending = []
            for (sid, score, _, live), result in zip(owned, results, strict=True):
                if result == 0:
                    # Changed since it was read (a touch): read it again and delete that.
                    pending.append((sid, score))
                    continue
                if result == 1 and live:
                    count += 1
                forget.append((sid, b""))
        if pending:
            raise StoreError(f"delete_by_user_key gave up: {len(pending)} sessions kept changing")
        if forget:
            await self._forget(client, user_key, forget)
        return count

    async def _touch(self, client: Any, id: str, expires_at: datetime) -> bool:
        key = self._keys.record(id)
        for _ in range(_ATTEMPTS):
            raw = await client.execute_command("GET", key)
            session = None if raw is None else _decode(raw, id)
            now = datetime.now(UTC)
            if session is None or session.expires_at <= now:
                return False
            if expires_at <= session.expires_at:
                return True
            moved = replace(session, expires_at=expires_at)
            expiry = _ceil_ms(expires_at)
            index = self._keys.index(moved.user_key)
            await _INDEX_ADD.run(client, index, _member(id), expiry, _floor_ms(now))
            result = await _RECORD_REPLACE.run(client, key, _sha1(raw), _encode(moved), expiry)
            if result != 0:
                return bool(result == 1)
        raise StoreError("touch gave up: the session kept changing")

    async def _live_raw(self, client: Any, key: bytes, session_id: str) -> bytes | None:
        raw: bytes | None = await client.execute_command("GET", key)
        if raw is None:
            return None
        session = _decode(raw, session_id)
        if session is not None and session.expires_at <= datetime.now(UTC):
            return None
        return raw

    async def _replace_dead(
        self, client: Any, key: bytes, session: Session, value: bytes, expiry: int
    ) -> None:
        """The id is taken: take it over if its record is dead, else ``DuplicateIDError``."""
        for _ in range(_ATTEMPTS):
            raw = await client.execute_command("GET", key)
            if raw is None:
                if await client.execute_command("SET", key, value, "NX", "PXAT", expiry):
                    return
                continue
            if raw == value:
                # Our own write, answered late and sent again by the driver's retry.
                return
            existing = _decode(raw, session.id)
            if existing is None or existing.expires_at > datetime.now(UTC):
                raise DuplicateIDError(id_ref(session.id))
            if await _RECORD_REPLACE.run(client, key, _sha1(raw), value, expiry) == 1:
                return
        raise StoreError("create gave up: the session id kept changing hands")

    async def _index(
        self, client: Any, key: bytes, session: Session, value: bytes, expiry: int, now: datetime
    ) -> None:
        index = self._keys.index(session.user_key)
        try:
            await _INDEX_ADD.run(client, index, _member(session.id), expiry, _floor_ms(now))
        except _DRIVER_ERRORS:
            try:
                await _RECORD_DELETE.run(client, key, _sha1(value))
            except _DRIVER_ERRORS:
                logger.warning(
                    "redis store: session %s was written but not indexed; it expires unused",
                    id_ref(session.id),
                )
            raise

    async def _entries(self, client: Any, user_key: str, now: datetime) -> list[tuple[str, bytes]]:
        flat = await _INDEX_LIVE.run(client, self._keys.index(user_key), _floor_ms(now))
        return [
            (member.decode("utf-8", "surrogatepass"), score)
            for member, score in zip(flat[::2], flat[1::2], strict=True)
        ]

    async def _get_many(self, client: Any, keys: Sequence[bytes]) -> list[bytes | None]:
        if not self._target.cluster:
            values: list[bytes | None] = await client.execute_command("MGET", *keys)
            return values
        # Records live in many slots: one pipeline, sent to each node as one batch.
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.execute_command("GET", key)
        results: list[bytes | None] = await pipe.execute()
        return results

    async def _forget(self, client: Any, user_key: str, entries: list[tuple[str, bytes]]) -> None:
        args: list[bytes] = []
        for sid, score in entries:
            args += (_member(sid), score)
        await _INDEX_FORGET.run(client, self._keys.index(user_key), *args)

    def _failure(self, operation: str, exc: BaseException) -> StoreError:
        return StoreError(
            f"redis store {self._target.describe()}: {operation} failed: "
            f"{type(exc).__name__}: {exc}"
        )


class _Gate:
    """Lets at most ``size`` operations use a cluster client at once; the rest wait.

    redis-py's cluster client fails a command at once when a node's connections are all in
    use, where the one-server pool waits. Each operation holds at most one connection per
    node at a time, so this bound keeps every node within ``pool_size`` and turns a burst
    into a queue, as on one server.
    """

    __slots__ = ("_semaphore", "_timeout")

    def __init__(self, size: int, timeout: float) -> None:
        self._semaphore = asyncio.Semaphore(size)
        self._timeout = timeout

    async def __aenter__(self) -> None:
        if not self._semaphore.locked():
            await self._semaphore.acquire()
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._semaphore.acquire()
        except TimeoutError:
            raise StoreError(
                f"redis store: no free cluster connection within {self._timeout:g} s"
            ) from None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._semaphore.release()


def _encode(session: Session) -> bytes:
    return json.dumps(session_to_record(session), separators=(",", ":")).encode("ascii")


def _decode(raw: bytes, expected_id: str) -> Session | None:
    """The session in ``raw``, or None (logged) if it is not a readable record of that id."""
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(f"a record must be a JSON object, got {type(data).__name__}")
        session = session_from_record(data)
    except (ValueError, TypeError, RecursionError) as exc:
        logger.warning("redis store: unreadable session record %s: %s", id_ref(expected_id), exc)
        return None
    if session.id != expected_id:
        logger.warning("redis store: session record %s holds another id", id_ref(expected_id))
        return None
    return session


def _member(session_id: str) -> bytes:
    return session_id.encode("utf-8", "surrogatepass")


def _sha1(raw: bytes) -> str:
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def _ceil_ms(moment: datetime) -> int:
    # Rounded up, so Redis never drops a record before its own expires_at has passed.
    return -(-datetime_to_micros(moment) // 1000)


def _floor_ms(moment: datetime) -> int:
    return datetime_to_micros(moment) // 1000


def _with_db(target: Target, db: int) -> Target:
    if type(db) is not int or db < 0:
        raise StoreURLError(f"option 'db' must be an integer >= 0, got {db!r}")
    if target.cluster:
        raise StoreURLError("Redis Cluster has only database 0; drop option 'db'")
    if target.db is not None and target.db != db:
        raise StoreURLError(f"database given twice: {target.db} in the URL, {db} as db")
    return replace(target, db=db)


def _ssl_options(
    target: Target, ca_certs: str | None, certfile: str | None, keyfile: str | None, reqs: str
) -> dict[str, str | None]:
    """The TLS settings for redis-py; any of them without a rediss URL is an error."""
    options = {"ssl_ca_certs": ca_certs, "ssl_certfile": certfile, "ssl_keyfile": keyfile}
    if not target.tls and (any(v is not None for v in options.values()) or reqs != "required"):
        raise StoreURLError(f"ssl_* options need a rediss URL, got {target.scheme}://")
    if reqs not in _CERT_REQS:
        raise StoreURLError(
            f"option 'ssl_cert_reqs' must be one of {', '.join(_CERT_REQS)}, got {reqs!r}"
        )
    return {**options, "ssl_cert_reqs": reqs}


def _check_positive(name: str, value: object) -> None:
    if type(value) is not int or value < 1:
        raise StoreURLError(f"option {name!r} must be an integer >= 1, got {value!r}")


def _check_duration(name: str, value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise StoreURLError(f"option {name!r} must be a positive timedelta, got {value!r}")
