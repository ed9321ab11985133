"""The SQLite store's data layout: its tables, its version, and how an older one is upgraded.

Layout 1, for a sessions table named ``T`` (``sessionup_sessions`` by default)::

    sessionup_layout(store_table TEXT PRIMARY KEY, version INTEGER)  -- one row per T
    T(id TEXT PRIMARY KEY, user_key TEXT, created_at INTEGER, expires_at INTEGER,
      ip TEXT, os TEXT, browser TEXT, meta TEXT)                     -- WITHOUT ROWID
    T_user_key ON T(user_key, expires_at)
    T_expires_at ON T(expires_at)

Timestamps are integer microseconds since the Unix epoch, in UTC, so comparisons in SQL are
exact and no time zone or string format is involved. ``meta`` is a JSON object.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from sessionup.core.errors import StoreError

if TYPE_CHECKING:
    import aiosqlite

__all__ = [
    "LAYOUT_TABLE",
    "LAYOUT_VERSION",
    "MIGRATIONS",
    "MIN_SQLITE_VERSION",
    "LayoutVersionError",
    "check_table_name",
    "create_statements",
    "for_table",
    "prepare",
]

logger = logging.getLogger(__name__)

#: Version of the layout this release creates and reads.
LAYOUT_VERSION: Final = 1

#: The table that records, for each sessions table, the layout version it was created with.
LAYOUT_TABLE: Final = "sessionup_layout"

#: Oldest SQLite library the store runs on (UPSERT arrived in 3.24).
MIN_SQLITE_VERSION: Final = (3, 24, 0)

#: Upgrades, by the version they start from: ``MIGRATIONS[n](table)`` gives the statements
#: that turn layout ``n`` into layout ``n + 1``. They run inside the opening transaction, so
#: a failed upgrade leaves the file as it was. Layout 1 is the first, so none exist yet.
MIGRATIONS: dict[int, Callable[[str], Sequence[str]]] = {}

_TABLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class LayoutVersionError(StoreError):
    """The database holds a layout this release cannot use.

    :ivar found: the version recorded in the file (None if unreadable).
    :ivar supported: :data:`LAYOUT_VERSION`.
    """

    def __init__(self, message: str, found: object = None) -> None:
        self.found = found
        self.supported = LAYOUT_VERSION
        super().__init__(message)


def check_table_name(table: object) -> str:
    """Return ``table`` if it is a plain SQL identifier (letters, digits, ``_``), else raise.

    The name is written into SQL text, so only this narrow alphabet is accepted.

    :raises ValueError: naming the bad value.
    """
    if not isinstance(table, str) or not _TABLE_NAME.fullmatch(table):
        raise ValueError(
            f"table must be 1 to 63 letters, digits or '_', not starting with a digit; "
            f"got {table!r}"
        )
    if table.lower().startswith("sqlite_") or table.lower() == LAYOUT_TABLE:
        raise ValueError(f"table name {table!r} is reserved")
    return table


def for_table(template: str, table: str) -> str:
    """``template`` with each ``{t}`` replaced by ``table``.

    Table names are the only text ever put into SQL, and only once
    :func:`check_table_name` has accepted them; every value is a bound parameter.
    """
    return template.replace("{t}", check_table_name(table))


def create_statements(table: str) -> list[str]:
    """The statements that create layout :data:`LAYOUT_VERSION` for ``table``."""
    statements = [
        """CREATE TABLE {t} (
            id TEXT PRIMARY KEY NOT NULL,
            user_key TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            ip TEXT,
            os TEXT,
            browser TEXT,
            meta TEXT NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX {t}_user_key ON {t} (user_key, expires_at)",
        "CREATE INDEX {t}_expires_at ON {t} (expires_at)",
    ]
    return [for_table(statement, table) for statement in statements]


async def prepare(conn: aiosqlite.Connection, table: str, synchronous: str, path: str) -> None:
    """Set the connection up and make sure ``table`` holds the current layout.

    Turns on WAL for file databases, creates the tables on first use, and upgrades an older
    layout through :data:`MIGRATIONS`, all in one ``BEGIN IMMEDIATE`` transaction so that
    processes opening the same new file at once create it exactly once.

    :raises LayoutVersionError: if the file holds a newer layout than this release knows,
        an older one with no upgrade path, or a table of that name sessionup did not create.
    :raises StoreError: if the SQLite library is too old or lacks JSON support.
    :raises sqlite3.Error: for any failure of SQLite itself (the caller wraps it).
    """
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        wanted = ".".join(map(str, MIN_SQLITE_VERSION))
        raise StoreError(
            f"the SQLite library is version {sqlite3.sqlite_version}; "
            f"the sqlite store needs {wanted} or later"
        )
    try:
        await conn.execute_fetchall("SELECT json_valid('[]')")
    except sqlite3.OperationalError as exc:
        raise StoreError("the SQLite library was built without JSON support") from exc

    if path != ":memory:":
        rows = list(await conn.execute_fetchall("PRAGMA journal_mode=WAL"))
        mode = str(rows[0][0]).lower() if rows else "unknown"
        if mode != "wal":
            logger.warning(
                "sqlite store: %s stays in journal mode %s (WAL refused); "
                "processes sharing it will wait on each other more",
                path,
                mode,
            )
    await conn.execute_fetchall(f"PRAGMA synchronous={synchronous}")

    await conn.execute_fetchall("BEGIN IMMEDIATE")
    try:
        await _ensure_layout(conn, table)
    except BaseException:
        await conn.rollback()
        raise
    await conn.commit()


async def _ensure_layout(conn: aiosqlite.Connection, table: str) -> None:
    await conn.execute_fetchall(
        "CREATE TABLE IF NOT EXISTS sessionup_layout ("
        "store_table TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID"
    )
    rows = list(
        await conn.execute_fetchall(
            "SELECT version FROM sessionup_layout WHERE store_table = ?", (table,)
        )
    )

    if not rows:
        existing = list(
            await conn.execute_fetchall(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            )
        )
        if existing:
            raise LayoutVersionError(
                f"table {table!r} exists but has no sessionup layout record; "
                "choose another table with the 'table' option"
            )
        for statement in create_statements(table):
            await conn.execute_fetchall(statement)
        await conn.execute_fetchall(
            "INSERT INTO sessionup_layout (store_table, version) VALUES (?, ?)",
            (table, LAYOUT_VERSION),
        )
        logger.info("sqlite store: created table %s, layout %d", table, LAYOUT_VERSION)
        return

    found = rows[0][0]
    if type(found) is not int or found < 1:
        raise LayoutVersionError(
            f"table {table!r} records an unreadable layout version {found!r}", found
        )
    if found > LAYOUT_VERSION:
        raise LayoutVersionError(
            f"table {table!r} holds layout {found}, newer than layout {LAYOUT_VERSION} that "
            "this sessionup-store-sqlite knows; upgrade sessionup-store-sqlite",
            found,
        )
    if found < LAYOUT_VERSION:
        await _migrate(conn, table, found, MIGRATIONS)


async def _migrate(
    conn: aiosqlite.Connection,
    table: str,
    found: int,
    migrations: Mapping[int, Callable[[str], Sequence[str]]],
) -> None:
    for version in range(found, LAYOUT_VERSION):
        step = migrations.get(version)
        if step is None:
            raise LayoutVersionError(
                f"table {table!r} holds layout {found} and this release has no upgrade "
                f"from layout {version}",
                found,
            )
        for statement in step(table):
            await conn.execute_fetchall(statement)
        logger.info("sqlite store: upgraded table %s to layout %d", table, version + 1)
    await conn.execute_fetchall(
        "UPDATE sessionup_layout SET version = ? WHERE store_table = ?", (LAYOUT_VERSION, table)
    )
