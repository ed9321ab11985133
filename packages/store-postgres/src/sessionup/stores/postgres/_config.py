"""Store URLs and options: which belong to sessionup, which to libpq, and their checks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final
from urllib.parse import unquote

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg import pq

from sessionup.core.errors import StoreURLError
from sessionup.core.store import coerce_options

#: The options the store itself reads, by name and type; every other option must be a
#: libpq connection parameter.
OPTIONS: Final[Mapping[str, type]] = {
    "min_size": int,
    "max_size": int,
    "schema": str,
    "table": str,
    "connect_timeout": timedelta,
    "statement_timeout": timedelta,
    "prepare_threshold": int,
    "pgbouncer": bool,
    "purge_batch_size": int,
}

# Longest identifier PostgreSQL keeps (NAMEDATALEN - 1 bytes); longer ones are truncated,
# which could make two tables' indexes collide.
_MAX_IDENTIFIER_BYTES: Final = 63
# The table name also prefixes its index names, the longest suffix being this one.
_LONGEST_INDEX_SUFFIX: Final = len("_expires_at_idx")

_UTF8_NAMES: Final = frozenset({"utf8", "utf-8", "unicode"})


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a store needs, checked; built by :func:`settings`."""

    conninfo: str
    min_size: int
    max_size: int
    schema: str
    table: str
    connect_timeout: timedelta
    statement_timeout: timedelta
    prepare_threshold: int | None
    pgbouncer: bool
    purge_batch_size: int


def libpq_keywords() -> frozenset[str]:
    """The connection parameters the installed libpq accepts."""
    return frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """Take sessionup's own options out of a libpq URL's query string.

    The rest of the URL, libpq parameters included, is returned byte for byte so that
    libpq decodes it by its own rules, exactly as a psycopg user's URL would be.

    :raises StoreURLError: if one of our options is given twice.
    """
    base, sep, query = url.partition("?")
    if not sep:
        return base, {}
    ours: dict[str, str] = {}
    kept: list[str] = []
    for piece in query.split("&"):
        if not piece:
            continue
        raw_name, _, raw_value = piece.partition("=")
        name = unquote(raw_name)
        if name not in OPTIONS:
            kept.append(piece)
            continue
        if name in ours:
            raise StoreURLError(f"option {name!r} is given twice in the store URL")
        ours[name] = unquote(raw_value)
    return (f"{base}?{'&'.join(kept)}" if kept else base), ours


def settings(url: str, options: Mapping[str, Any], *, scheme: str = "postgresql") -> Settings:
    """Check a store URL and keyword options, and build the store's settings.

    Options that are sessionup's (see :data:`OPTIONS`) are type-checked; any other must be
    a libpq connection parameter, given as a ``str`` or ``int``.

    :raises StoreURLError: naming the option or the part of the URL that is wrong.
    """
    base, query = split_url(url)
    twice = sorted(set(query) & set(options))
    if twice:
        raise StoreURLError(f"options given both in the URL and as arguments: {twice}")
    ours_given = {**query, **{k: v for k, v in options.items() if k in OPTIONS}}
    ours = coerce_options(scheme, ours_given, OPTIONS)
    libpq = {k: v for k, v in options.items() if k not in OPTIONS}
    return build(base, libpq, **ours)


def build(
    conninfo: str,
    libpq: Mapping[str, object] | None = None,
    *,
    min_size: int = 1,
    max_size: int = 10,
    schema: str = "public",
    table: str = "sessionup_sessions",
    connect_timeout: timedelta = timedelta(seconds=5),
    statement_timeout: timedelta = timedelta(seconds=5),
    prepare_threshold: int | None = 5,
    pgbouncer: bool = False,
    purge_batch_size: int = 1000,
) -> Settings:
    """Check every value and merge the libpq parameters into one connection string.

    :raises StoreURLError: for an unknown libpq parameter, a malformed URL, or a value out
        of range, naming it.
    """
    _check_sizes(min_size, max_size, purge_batch_size)
    _check_identifier("schema", schema, _MAX_IDENTIFIER_BYTES)
    _check_identifier("table", table, _MAX_IDENTIFIER_BYTES - _LONGEST_INDEX_SUFFIX)
    for name, value in (
        ("connect_timeout", connect_timeout),
        ("statement_timeout", statement_timeout),
    ):
        if not isinstance(value, timedelta) or value <= timedelta(0):
            raise StoreURLError(f"option {name!r} must be a positive duration, got {value!r}")
    if prepare_threshold is not None and (
        isinstance(prepare_threshold, bool)
        or not isinstance(prepare_threshold, int)
        or prepare_threshold < 0
    ):
        raise StoreURLError(
            f"option 'prepare_threshold' must be an int >= 0 or None, got {prepare_threshold!r}"
        )
    if pgbouncer:
        # Server-side prepared statements do not survive PgBouncer's transaction pooling:
        # the next transaction may run on another server connection.
        prepare_threshold = None
    return Settings(
        conninfo=_conninfo(conninfo, libpq or {}, connect_timeout),
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


def _check_sizes(min_size: int, max_size: int, purge_batch_size: int) -> None:
    for name, value, least in (
        ("min_size", min_size, 0),
        ("max_size", max_size, 1),
        ("purge_batch_size", purge_batch_size, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise StoreURLError(f"option {name!r} must be an int >= {least}, got {value!r}")
    if min_size > max_size:
        raise StoreURLError(f"option 'min_size' ({min_size}) exceeds 'max_size' ({max_size})")


def _check_identifier(name: str, value: object, longest: int) -> None:
    if not isinstance(value, str) or not value:
        raise StoreURLError(f"option {name!r} must be a non-empty string, got {value!r}")
    if "\x00" in value:
        raise StoreURLError(f"option {name!r} must not contain NUL")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise StoreURLError(f"option {name!r} must be valid Unicode text") from None
    if size > longest:
        raise StoreURLError(
            f"option {name!r} is {size} bytes of UTF-8; PostgreSQL keeps at most {longest} here"
        )


def _conninfo(base: str, libpq: Mapping[str, object], connect_timeout: timedelta) -> str:
    """One libpq connection string from the URL and the keyword parameters."""
    known = libpq_keywords()
    query = base.partition("?")[2] if "://" in base else ""
    in_url = [unquote(piece.partition("=")[0]) for piece in query.split("&") if piece]
    for name in [*in_url, *libpq]:
        if name not in known:
            ours = ", ".join(sorted(OPTIONS))
            raise StoreURLError(
                f"unknown option {name!r} for postgresql:// stores: it is neither a sessionup "
                f"option ({ours}) nor a libpq connection parameter"
            )
    twice = sorted(set(in_url) & set(libpq))
    if twice:
        raise StoreURLError(f"libpq parameters given both in the URL and as arguments: {twice}")
    for name, value in libpq.items():
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise StoreURLError(
                f"libpq parameter {name!r} must be a str or int, got {type(value).__name__}"
            )
    try:
        parsed = pg_conninfo.conninfo_to_dict(base)
    except psycopg.ProgrammingError as exc:
        raise StoreURLError(f"malformed PostgreSQL store URL: {_first_line(exc)}") from None
    for port in str(libpq.get("port", parsed.get("port", ""))).split(","):
        if port and not port.isdigit():
            raise StoreURLError(f"malformed PostgreSQL store URL: port {port!r} is not a number")
    if "connect_timeout" in parsed:
        raise StoreURLError("give 'connect_timeout' as a store option, not inside the conninfo")
    encoding = libpq.get("client_encoding", parsed.get("client_encoding"))
    if encoding is not None and str(encoding).lower() not in _UTF8_NAMES:
        raise StoreURLError(
            f"libpq parameter 'client_encoding' must be UTF8 for a session store, got {encoding!r}"
        )
    extra: dict[str, str | int] = {
        "client_encoding": "UTF8",
        # libpq counts whole seconds, and treats anything under 2 as 2.
        "connect_timeout": max(2, math.ceil(connect_timeout.total_seconds())),
    }
    if "application_name" not in parsed and "application_name" not in libpq:
        extra["fallback_application_name"] = "sessionup"
    try:
        given = {k: v if isinstance(v, int) else str(v) for k, v in libpq.items()}
        return pg_conninfo.make_conninfo(base, **{**extra, **given})
    except psycopg.ProgrammingError as exc:
        raise StoreURLError(f"malformed PostgreSQL store URL: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
