"""The schema the store manages: creation, its recorded version, migration, and names."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
import pytest
from postgres_support import drop_schema, session
from psycopg import sql
from psycopg.conninfo import make_conninfo

from sessionup.core import StoreError
from sessionup.stores.postgres import LATEST_VERSION, LayoutVersionError, PostgresStore, _schema

Connection = psycopg.Connection[tuple[Any, ...]]
MakeStore = Callable[..., PostgresStore]


def layout_rows(conn: Connection, schema: str) -> list[tuple[Any, ...]]:
    query = sql.SQL("SELECT table_name, version FROM {}").format(
        sql.Identifier(schema, "sessionup_layout")
    )
    return conn.execute(query).fetchall()


async def test_first_open_creates_the_tables_and_records_the_layout(
    make_store: MakeStore, sql_conn: Connection, schema: str
) -> None:
    async with make_store(table="web_sessions"):
        pass

    assert layout_rows(sql_conn, schema) == [("web_sessions", LATEST_VERSION)]


async def test_concurrent_first_opens_create_the_table_once(
    make_store: MakeStore, sql_conn: Connection, schema: str
) -> None:
    stores = [make_store(max_size=1) for _ in range(6)]

    try:
        await asyncio.gather(*(store.open() for store in stores))
    finally:
        await asyncio.gather(*(store.close() for store in stores))

    assert layout_rows(sql_conn, schema) == [("sessionup_sessions", LATEST_VERSION)]


async def test_a_newer_layout_in_the_database_is_a_clear_error(
    make_store: MakeStore, sql_conn: Connection, schema: str
) -> None:
    async with make_store():
        pass
    sql_conn.execute(
        sql.SQL("UPDATE {} SET version = %s").format(sql.Identifier(schema, "sessionup_layout")),
        (LATEST_VERSION + 1,),
    )

    store = make_store()
    with pytest.raises(LayoutVersionError, match="newer than this") as caught:
        await store.open()
    with pytest.raises(LayoutVersionError):
        await store.fetch_by_id("x")
    await store.close()

    assert "upgrade" in str(caught.value)


async def test_a_table_not_made_by_the_store_is_left_alone(
    make_store: MakeStore, sql_conn: Connection, schema: str
) -> None:
    sql_conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    sql_conn.execute(
        sql.SQL("CREATE TABLE {} (id int)").format(sql.Identifier(schema, "sessionup_sessions"))
    )

    store = make_store()
    with pytest.raises(LayoutVersionError, match="no sessionup layout record"):
        await store.open()
    await store.close()

    columns = sql_conn.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s", (schema,)
    ).fetchone()
    assert columns == (1,)


async def test_a_later_release_migrates_an_existing_table_forward(
    make_store: MakeStore,
    sql_conn: Connection,
    schema: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with make_store():
        pass

    def add_a_column(names: _schema.Names) -> Sequence[sql.Composed]:
        return [sql.SQL("ALTER TABLE {} ADD COLUMN note text").format(names.sessions)]

    monkeypatch.setattr(_schema, "STEPS", (*_schema.STEPS, add_a_column))
    monkeypatch.setattr(_schema, "LATEST_VERSION", LATEST_VERSION + 1)
    async with make_store():
        pass
    async with make_store():
        pass

    assert layout_rows(sql_conn, schema) == [("sessionup_sessions", LATEST_VERSION + 1)]
    note = sql_conn.execute(
        "SELECT count(*) FROM information_schema.columns"
        " WHERE table_schema = %s AND column_name = 'note'",
        (schema,),
    ).fetchone()
    assert note == (1,)


async def test_odd_schema_and_table_names_are_quoted(postgres_url: str) -> None:
    schema = f'sessionup_test_{uuid.uuid4().hex[:8]} "odd"; DROP'
    table = 'Sess"ions; --'
    store = PostgresStore.from_url(postgres_url, schema=schema, table=table)

    try:
        async with store:
            await store.create(session("s"))
            fetched = await store.fetch_by_id("s")
    finally:
        drop_schema(postgres_url, schema)

    assert fetched is not None


async def test_a_role_without_create_rights_uses_tables_prepared_for_it(
    make_store: MakeStore, postgres_url: str, sql_conn: Connection, schema: str
) -> None:
    async with make_store():
        pass
    role = f"sessionup_test_{uuid.uuid4().hex[:8]}"
    sql_conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        names = {"s": sql.Identifier(schema), "r": sql.Identifier(role)}
        sql_conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {s} TO {r}").format(**names))
        grant = "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}"
        sql_conn.execute(sql.SQL(grant).format(**names))
        as_role = make_conninfo(postgres_url, user=role)
        store = PostgresStore(as_role, schema=schema)
        async with store:
            fetched = await store.fetch_by_id("x")
        fresh = PostgresStore(as_role, schema=schema, table="other")
        with pytest.raises(StoreError, match="permission denied"):
            await fresh.open()
        await fresh.close()
    finally:
        sql_conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        sql_conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))

    assert fetched is None
