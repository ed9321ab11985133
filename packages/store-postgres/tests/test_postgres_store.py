"""The store against the real server: the contract, its SQL, and hostile inputs as data."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from postgres_support import HOUR, session
from psycopg import sql

from sessionup.core import Agent, DuplicateIDError, Session, StoreClosedError, StoreError
from sessionup.stores.postgres import PostgresStore

Connection = psycopg.Connection[tuple[Any, ...]]
MakeStore = Callable[..., PostgresStore]

HOSTILE = [
    "*",
    "?",
    "[a-z]",
    '{"$ne": ""}',
    "' OR 1=1--",
    "'; DROP TABLE sessionup_sessions; --",
    "%s",
    "%(id)s",
    "$1",
    "\\",
    "../x",
    "a/b",
    "a\\b",
    "ünïcödé ✓ 🔑",
    "\u202e\u200b",
    "x" * 5000,
    " ",
]


def table(store: PostgresStore) -> sql.Identifier:
    return sql.Identifier(store.schema, store.table)


def row_of(conn: Connection, store: PostgresStore, id: str) -> tuple[Any, ...] | None:
    query = sql.SQL("SELECT * FROM {} WHERE id = %s").format(table(store))
    return conn.execute(query, (id,)).fetchone()


async def test_a_session_round_trips_every_field(make_store: MakeStore) -> None:
    original = Session(
        id="s1",
        user_key="alice",
        created_at=datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        expires_at=datetime.now(UTC) + HOUR,
        ip=ipaddress.ip_address("2001:db8::1"),
        agent=Agent(os="iOS", browser=None),
        meta={"device": "phone", "ünï": "✓"},
    )

    async with make_store() as store:
        await store.create(original)
        fetched = await store.fetch_by_id("s1")
        listed = await store.fetch_by_user_key("alice")

    assert fetched == original
    assert fetched is not None
    assert fetched.created_at.tzinfo is UTC
    assert listed == [original]


async def test_the_columns_have_real_types(make_store: MakeStore, sql_conn: Connection) -> None:
    async with make_store() as store:
        await store.open()

    rows = sql_conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = %s AND table_name = %s",
        (store.schema, store.table),
    ).fetchall()
    types: dict[str, str] = dict(rows)
    assert types["id"] == "text"
    assert types["created_at"] == types["expires_at"] == "timestamp with time zone"
    assert types["ip"] == "inet"
    assert types["meta"] == "jsonb"
    indexes = sql_conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
        (store.schema, store.table),
    ).fetchall()
    definitions = " ".join(d for (d,) in indexes)
    assert "(user_key)" in definitions
    assert "(expires_at)" in definitions
    primary = sql_conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(%s)"
        " AND contype = 'p'",
        (table(store).as_string(sql_conn),),
    ).fetchone()
    assert primary == ("PRIMARY KEY (id)",)


async def test_a_duplicate_live_id_is_refused_and_left_intact(make_store: MakeStore) -> None:
    first = session("dup", "alice")

    async with make_store() as store:
        await store.create(first)
        with pytest.raises(DuplicateIDError):
            await store.create(session("dup", "mallory"))
        kept = await store.fetch_by_id("dup")

    assert kept == first


async def test_an_expired_id_may_be_reused(make_store: MakeStore) -> None:
    async with make_store() as store:
        await store.create(session("old", "alice", expires_in=-HOUR))
        await store.create(session("old", "bob"))
        fetched = await store.fetch_by_id("old")

    assert fetched is not None
    assert fetched.user_key == "bob"


async def test_expired_sessions_never_come_back(make_store: MakeStore) -> None:
    async with make_store() as store:
        await store.create(session("gone", expires_in=timedelta(milliseconds=200)))
        before = await store.fetch_by_id("gone")
        await asyncio.sleep(0.3)
        by_id = await store.fetch_by_id("gone")
        by_user = await store.fetch_by_user_key("alice")
        touched = await store.touch("gone", datetime.now(UTC) + HOUR)
        deleted = await store.delete_by_id("gone")

    assert before is not None
    assert (by_id, by_user, touched, deleted) == (None, [], False, False)


async def test_users_see_only_their_own_sessions(make_store: MakeStore) -> None:
    async with make_store() as store:
        for i in range(3):
            await store.create(session(f"a{i}", "alice"))
        await store.create(session("b0", "bob"))
        alice = await store.fetch_by_user_key("alice")
        nobody = await store.fetch_by_user_key("carol")

    assert sorted(s.id for s in alice) == ["a0", "a1", "a2"]
    assert nobody == []


async def test_delete_by_user_key_keeps_the_exceptions_only_for_that_user(
    make_store: MakeStore,
) -> None:
    async with make_store() as store:
        for id in ("a1", "a2", "a3"):
            await store.create(session(id, "alice"))
        await store.create(session("b1", "bob"))
        await store.create(session("a-old", "alice", expires_in=-HOUR))
        count = await store.delete_by_user_key("alice", except_ids=["a2", "b1", "nope"])
        alice = await store.fetch_by_user_key("alice")
        bob = await store.fetch_by_user_key("bob")
        none_left = await store.delete_by_user_key("alice", except_ids=[])

    assert count == 2
    assert [s.id for s in alice] == ["a2"]
    assert [s.id for s in bob] == ["b1"]
    assert none_left == 1


async def test_delete_by_id_says_whether_a_live_session_went(
    make_store: MakeStore, sql_conn: Connection
) -> None:
    async with make_store() as store:
        await store.create(session("live"))
        await store.create(session("dead", expires_in=-HOUR))
        live = await store.delete_by_id("live")
        again = await store.delete_by_id("live")
        dead = await store.delete_by_id("dead")

    assert (live, again, dead) == (True, False, False)
    assert row_of(sql_conn, store, "dead") is None


async def test_touch_only_moves_expiry_later(make_store: MakeStore) -> None:
    original = session("t")
    later = original.expires_at + HOUR

    async with make_store() as store:
        await store.create(original)
        earlier_ok = await store.touch("t", original.expires_at - timedelta(minutes=30))
        after_earlier = await store.fetch_by_id("t")
        later_ok = await store.touch("t", later)
        after_later = await store.fetch_by_id("t")
        absent = await store.touch("nope", later)

    assert earlier_ok
    assert later_ok
    assert not absent
    assert after_earlier is not None
    assert after_earlier.expires_at == original.expires_at
    assert after_later is not None
    assert after_later.expires_at == later


async def test_touch_writes_nothing_for_an_expired_session(
    make_store: MakeStore, sql_conn: Connection
) -> None:
    async with make_store() as store:
        await store.create(session("e", expires_in=-HOUR))
        before = row_of(sql_conn, store, "e")
        touched = await store.touch("e", datetime.now(UTC) + HOUR)
        after = row_of(sql_conn, store, "e")

    assert touched is False
    assert before == after


async def test_delete_expired_purges_in_batches_up_to_the_limit(
    make_store: MakeStore, sql_conn: Connection
) -> None:
    async with make_store(purge_batch_size=3) as store:
        for i in range(10):
            await store.create(session(f"x{i}", expires_in=-HOUR))
        await store.create(session("live"))
        first = await store.delete_expired(limit=7)
        rest = await store.delete_expired()
        nothing = await store.delete_expired()
        zero = await store.delete_expired(limit=0)
        live = await store.fetch_by_id("live")

    assert (first, rest, nothing, zero) == (7, 3, 0, 0)
    assert live is not None
    count = sql_conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table(store))).fetchone()
    assert count == (1,)


async def test_delete_expired_rejects_a_bad_limit(make_store: MakeStore) -> None:
    async with make_store() as store:
        with pytest.raises(ValueError, match="limit"):
            await store.delete_expired(limit=-1)


async def test_data_outlives_the_store_instance(make_store: MakeStore) -> None:
    async with make_store() as writer:
        await writer.create(session("persist"))

    async with make_store() as reader:
        fetched = await reader.fetch_by_id("persist")

    assert fetched is not None
    assert fetched.id == "persist"


async def test_close_is_idempotent_and_use_after_close_fails(make_store: MakeStore) -> None:
    store = make_store()
    await store.open()

    await store.close()
    await store.close()

    with pytest.raises(StoreClosedError):
        await store.fetch_by_id("x")
    with pytest.raises(StoreClosedError):
        await store.open()
    never_opened = make_store()
    await never_opened.close()
    with pytest.raises(StoreClosedError):
        await never_opened.create(session("y"))


async def test_the_store_opens_on_first_use(make_store: MakeStore) -> None:
    store = make_store()

    try:
        fetched = await store.fetch_by_id("nothing")
    finally:
        await store.close()

    assert fetched is None


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_hostile_strings_are_only_data(make_store: MakeStore, hostile: str) -> None:
    async with make_store() as store:
        await store.create(session(hostile, hostile, meta={hostile[:100]: hostile}))
        await store.create(session("bystander", "bystander"))
        by_id = await store.fetch_by_id(hostile)
        by_user = await store.fetch_by_user_key(hostile)
        kept = await store.delete_by_user_key(hostile, except_ids=[hostile])
        touched = await store.touch(hostile, datetime.now(UTC) + 2 * HOUR)
        deleted = await store.delete_by_id(hostile)
        bystander = await store.fetch_by_id("bystander")

    assert by_id is not None
    assert by_id.id == hostile
    assert by_id.user_key == hostile
    assert by_id.meta == {hostile[:100]: hostile}
    assert [s.id for s in by_user] == [hostile]
    assert (kept, touched, deleted) == (0, True, True)
    assert bystander is not None


@pytest.mark.parametrize("unstorable", ["nul\x00byte", "lone\ud800surrogate"])
async def test_text_postgres_cannot_hold_is_no_session_and_refused_on_create(
    make_store: MakeStore, unstorable: str
) -> None:
    async with make_store() as store:
        await store.create(session("real", "alice"))
        fetched = await store.fetch_by_id(unstorable)
        listed = await store.fetch_by_user_key(unstorable)
        touched = await store.touch(unstorable, datetime.now(UTC) + HOUR)
        deleted = await store.delete_by_id(unstorable)
        count = await store.delete_by_user_key("alice", except_ids=[unstorable, "real"])
        with pytest.raises(StoreError, match="cannot hold"):
            await store.create(session(unstorable))
        with pytest.raises(StoreError, match="cannot hold"):
            await store.create(session("ok", meta={"k": unstorable}))

    assert (fetched, listed, touched, deleted, count) == (None, [], False, False, 0)


async def test_many_coroutines_at_once_lose_nothing(make_store: MakeStore) -> None:
    async with make_store(max_size=4) as store:
        await asyncio.gather(*(store.create(session(f"c{i}", f"u{i % 7}")) for i in range(200)))
        deleted = await asyncio.gather(*(store.delete_by_id(f"c{i}") for i in range(0, 200, 2)))
        found = await asyncio.gather(*(store.fetch_by_id(f"c{i}") for i in range(200)))

    assert all(deleted)
    assert [f is not None for f in found] == [i % 2 == 1 for i in range(200)]


async def test_a_tampered_record_is_logged_and_is_no_session(
    make_store: MakeStore, sql_conn: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_store() as store:
        await store.create(session("bad", "alice"))
        await store.create(session("good", "alice"))
        sql_conn.execute(
            sql.SQL("""UPDATE {} SET meta = '{{"n": 1}}' WHERE id = 'bad'""").format(table(store))
        )
        with caplog.at_level(logging.WARNING, logger="sessionup.stores.postgres"):
            fetched = await store.fetch_by_id("bad")
            listed = await store.fetch_by_user_key("alice")

    assert fetched is None
    assert [s.id for s in listed] == ["good"]
    assert "undecodable" in caplog.text
    assert "'bad'" not in caplog.text


async def test_the_table_refuses_values_no_session_could_hold(
    make_store: MakeStore, sql_conn: Connection
) -> None:
    async with make_store() as store:
        await store.create(session("s"))

    for assignment in (
        "expires_at = 'infinity'",
        "created_at = '-infinity'",
        "ip = '10.0.0.0/8'",
        "meta = '[1, 2]'",
    ):
        query = sql.SQL("UPDATE {} SET " + assignment + " WHERE id = 's'").format(table(store))
        with pytest.raises(psycopg.errors.CheckViolation):
            sql_conn.execute(query)


async def test_two_stores_see_each_others_writes_and_revocations_at_once(
    make_store: MakeStore,
) -> None:
    async with make_store() as web, make_store() as worker:
        pools = (web.pool, worker.pool)
        await web.create(session("shared", "alice"))
        seen = await worker.fetch_by_id("shared")
        await worker.touch("shared", datetime.now(UTC) + 3 * HOUR)
        moved = await web.fetch_by_id("shared")
        revoked = await worker.delete_by_user_key("alice")
        after = await web.fetch_by_id("shared")
        listed = await web.fetch_by_user_key("alice")

    assert pools[0] is not None
    assert pools[1] is not None
    assert pools[0] is not pools[1]
    assert seen is not None
    assert moved is not None
    assert moved.expires_at > datetime.now(UTC) + 2 * HOUR
    assert (revoked, after, listed) == (1, None, [])


async def test_connections_get_the_statement_timeout_and_utc(make_store: MakeStore) -> None:
    async with make_store(statement_timeout=timedelta(seconds=1.5)) as store:
        assert store.pool is not None
        async with store.pool.connection() as conn:
            timeout = await (await conn.execute("SHOW statement_timeout")).fetchone()
            zone = await (await conn.execute("SHOW TimeZone")).fetchone()

    assert timeout == ("1500ms",)
    assert zone == ("UTC",)


async def test_a_slow_statement_fails_with_store_error_in_bounded_time(
    make_store: MakeStore,
) -> None:
    async with make_store(statement_timeout=timedelta(seconds=0.5)) as store:
        assert store.pool is not None

        async def slow(conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
            await conn.execute("SELECT pg_sleep(5)")

        started = time.monotonic()
        with pytest.raises(StoreError, match="timed out") as caught:
            await store._run("slow", slow)
        elapsed = time.monotonic() - started
        after = await store.fetch_by_id("x")

    assert isinstance(caught.value.__cause__, psycopg.errors.QueryCanceled)
    assert elapsed < 3
    assert after is None


async def test_pgbouncer_mode_reaches_the_connections(make_store: MakeStore) -> None:
    async with make_store(pgbouncer=True) as store:
        for i in range(10):
            await store.create(session(f"p{i}"))
            await store.fetch_by_id(f"p{i}")
        assert store.pool is not None
        async with store.pool.connection() as conn:
            threshold = conn.prepare_threshold
            prepared = await (
                await conn.execute("SELECT count(*) FROM pg_prepared_statements")
            ).fetchone()
            timeout = await (await conn.execute("SHOW statement_timeout")).fetchone()

    assert threshold is None
    assert prepared == (0,)
    assert timeout == ("0",)


async def test_default_mode_prepares_hot_statements(make_store: MakeStore) -> None:
    async with make_store(max_size=1, min_size=1) as store:
        for _ in range(10):
            await store.fetch_by_id("hot")
        assert store.pool is not None
        async with store.pool.connection() as conn:
            threshold = conn.prepare_threshold
            prepared = await (
                await conn.execute("SELECT count(*) FROM pg_prepared_statements")
            ).fetchone()

    assert threshold == 5
    assert prepared is not None
    assert prepared[0] >= 1


async def test_a_dead_server_fails_with_store_error_in_bounded_time() -> None:
    store = PostgresStore.from_url(
        "postgresql://postgres@127.0.0.1:1/test", connect_timeout=timedelta(seconds=1)
    )

    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        await store.fetch_by_id("x")
    elapsed = time.monotonic() - started
    await store.close()

    assert elapsed < 5
    assert caught.value.__cause__ is not None
