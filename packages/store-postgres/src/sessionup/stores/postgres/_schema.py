"""The store's tables: their layout, its recorded version, and the steps between versions.

Each sessions table has a row in its schema's ``sessionup_layout`` table saying which
layout version it is in. Opening a store takes a transaction-scoped advisory lock for that
table, so that two processes opening at once neither create the same table twice nor run a
migration step twice, then applies the steps missing from the recorded version onwards.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import psycopg
from psycopg import AsyncConnection, sql

from sessionup.core.errors import StoreError

__all__ = ["LATEST_VERSION", "LAYOUT_TABLE", "LayoutVersionError", "Names", "ensure_layout"]

logger = logging.getLogger(__name__)

#: Name of the per-schema table that records each sessions table's layout version.
LAYOUT_TABLE: Final = "sessionup_layout"


class LayoutVersionError(StoreError):
    """The table's recorded layout is one this release cannot use.

    Raised when the database holds a layout newer than this package knows (a newer
    release migrated it: upgrade ``sessionup-store-postgres``), or when the sessions table
    exists without a layout record (it was not made by this store).
    """


@dataclass(frozen=True, slots=True)
class Names:
    """The quoted identifiers of one store's objects."""

    schema: str
    table: str

    @property
    def sessions(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.table)

    @property
    def layout(self) -> sql.Identifier:
        return sql.Identifier(self.schema, LAYOUT_TABLE)

    def index(self, suffix: str) -> sql.Identifier:
        return sql.Identifier(f"{self.table}_{suffix}")

    def lock_key(self) -> int:
        """A stable signed 64-bit advisory lock key for this table."""
        digest = hashlib.sha256(f"sessionup:{self.schema}.{self.table}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


Step = Callable[[Names], Sequence[sql.Composed]]


def _layout_1(names: Names) -> Sequence[sql.Composed]:
    """The first layout: one row per session, real types, indexed by user key and expiry.

    The checks keep out what could not be read back into a session: timestamps outside
    Python's range (``infinity`` included), addresses with a network prefix, meta that is
    not a JSON object.
    """
    table = names.sessions
    return (
        sql.SQL(
            """CREATE TABLE {table} (
                id text PRIMARY KEY,
                user_key text NOT NULL,
                created_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                ip inet,
                agent_os text,
                agent_browser text,
                meta jsonb NOT NULL DEFAULT '{{}}'::jsonb,
                CONSTRAINT {times_check} CHECK (
                    created_at BETWEEN '0001-01-01 00:00:00+00' AND '9999-12-31 23:59:59.999999+00'
                    AND expires_at BETWEEN '0001-01-01 00:00:00+00'
                        AND '9999-12-31 23:59:59.999999+00'
                ),
                CONSTRAINT {ip_check} CHECK (
                    ip IS NULL OR masklen(ip) = CASE family(ip) WHEN 4 THEN 32 ELSE 128 END
                ),
                CONSTRAINT {meta_check} CHECK (jsonb_typeof(meta) = 'object')
            )"""
        ).format(
            table=table,
            times_check=names.index("times_check"),
            ip_check=names.index("ip_check"),
            meta_check=names.index("meta_check"),
        ),
        sql.SQL("CREATE INDEX {name} ON {table} (user_key)").format(
            name=names.index("user_key_idx"), table=table
        ),
        sql.SQL("CREATE INDEX {name} ON {table} (expires_at)").format(
            name=names.index("expires_at_idx"), table=table
        ),
    )


#: The migration path: step ``n`` (1-based) takes a table from layout ``n - 1`` to ``n``.
#: Layout 0 is "no table yet". A release that changes the layout appends a step.
STEPS: Final[tuple[Step, ...]] = (_layout_1,)

#: The layout version this release writes and reads.
LATEST_VERSION: Final = len(STEPS)


async def ensure_layout(conn: AsyncConnection[tuple[object, ...]], names: Names) -> int:
    """Create or migrate the store's tables to :data:`LATEST_VERSION`, in one transaction.

    Creates nothing that already exists, so a role without ``CREATE`` rights can use tables
    a more privileged role prepared. Returns the version found before any step ran.

    :raises LayoutVersionError: if the recorded layout is newer than this release knows, or
        the sessions table exists with no layout record.
    :raises psycopg.Error: if the database refuses a statement.
    """
    async with conn.transaction(), conn.cursor() as cur:
        await _execute(cur, "SELECT pg_advisory_xact_lock(%s)", (names.lock_key(),))
        await _execute(cur, "SELECT 1 FROM pg_namespace WHERE nspname = %s", (names.schema,))
        if await cur.fetchone() is None:
            await _execute(cur, sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(names.schema)))
        if not await _exists(cur, names.layout):
            await _execute(
                cur,
                sql.SQL(
                    "CREATE TABLE {} (table_name text PRIMARY KEY, version integer NOT NULL,"
                    " migrated_at timestamptz NOT NULL DEFAULT now())"
                ).format(names.layout),
            )
        await _execute(
            cur,
            sql.SQL("SELECT version FROM {} WHERE table_name = %s").format(names.layout),
            (names.table,),
        )
        row = await cur.fetchone()
        found = 0 if row is None else int(str(row[0]))
        _check_version(found, names)
        if found == 0 and await _exists(cur, names.sessions):
            raise LayoutVersionError(
                f"table {names.schema}.{names.table} exists but has no sessionup layout record "
                f"in {names.schema}.{LAYOUT_TABLE}; it was not created by this store. "
                "Choose another table name (option 'table') or schema (option 'schema')"
            )
        for version in range(found + 1, LATEST_VERSION + 1):
            for statement in STEPS[version - 1](names):
                await _execute(cur, statement)
            logger.info(
                "postgres store: table %s.%s migrated to layout %d",
                names.schema,
                names.table,
                version,
            )
        if found != LATEST_VERSION:
            await _execute(
                cur,
                sql.SQL(
                    "INSERT INTO {} (table_name, version) VALUES (%s, %s) ON CONFLICT (table_name)"
                    " DO UPDATE SET version = EXCLUDED.version, migrated_at = now()"
                ).format(names.layout),
                (names.table, LATEST_VERSION),
            )
    return found


def _check_version(found: int, names: Names) -> None:
    if found > LATEST_VERSION:
        raise LayoutVersionError(
            f"table {names.schema}.{names.table} is in layout version {found}, newer than "
            f"this sessionup-store-postgres knows (up to {LATEST_VERSION}); upgrade the package"
        )
    if found < 0:
        raise LayoutVersionError(
            f"table {names.schema}.{names.table} records an invalid layout version {found}"
        )


async def _execute(
    cur: psycopg.AsyncCursor[tuple[object, ...]],
    query: str | sql.Composed,
    params: tuple[object, ...] | None = None,
) -> None:
    # Statements run once per open: preparing them would only fill the server's cache, and
    # behind PgBouncer could collide with another client's prepared statements.
    await cur.execute(query, params, prepare=False)


async def _exists(cur: psycopg.AsyncCursor[tuple[object, ...]], name: sql.Identifier) -> bool:
    await _execute(cur, "SELECT to_regclass(%s) IS NOT NULL", (name.as_string(cur.connection),))
    row = await cur.fetchone()
    return bool(row and row[0])
