"""The SQLite store's behaviour on a real database file, beyond the conformance suite."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sessionup.core import DuplicateIDError, Session, StoreClosedError, StoreError
from sessionup.core.session import datetime_to_micros
from sessionup.stores.sqlite import LAYOUT_VERSION, PURGE_BATCH, SQLiteStore

MakeSession = Callable[..., Session]

HOSTILE_IDS = ["*", "?", "[", '{"$ne": ""}', "' OR 1=1--", "../x", "a\\b", "é✓🙂", "a\x00b", "%"]


def raw(db_path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection to the store's file, for looking behind its back."""
    return sqlite3.connect(db_path, isolation_level=None)


async def test_a_session_round_trips_every_field(store: SQLiteStore, make_session: MakeSession):
    session = make_session(ip=ipaddress.ip_address("2001:db8::1"), meta={"a": "1", "ünï": "çødé ✓"})

    await store.create(session)
    fetched = await store.fetch_by_id(session.id)

    assert fetched == session
    assert dict(fetched.meta) == {"a": "1", "ünï": "çødé ✓"}
    assert fetched.current is False


async def test_timestamps_are_integer_utc_microseconds(
    store: SQLiteStore, db_path: Path, make_session: MakeSession
):
    created = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    session = make_session(created_at=created, expires_at=created + timedelta(microseconds=1))

    await store.create(session)

    with raw(db_path) as conn:
        row = conn.execute(
            "SELECT typeof(created_at), created_at, expires_at FROM sessionup_sessions"
        ).fetchone()
    assert row == ("integer", datetime_to_micros(created), datetime_to_micros(created) + 1)


async def test_a_session_expiring_now_is_gone(store: SQLiteStore, make_session: MakeSession):
    session = make_session(ttl=timedelta(milliseconds=50))
    await store.create(session)
    assert await store.fetch_by_id(session.id) is not None

    await asyncio.sleep(0.06)

    assert await store.fetch_by_id(session.id) is None
    assert await store.fetch_by_user_key(session.user_key) == []
    assert await store.touch(session.id, datetime.now(UTC) + timedelta(hours=1)) is False
    assert await store.delete_by_id(session.id) is False


async def test_create_refuses_a_live_duplicate_and_keeps_the_original(
    store: SQLiteStore, make_session: MakeSession
):
    original = make_session(id="same", user_key="alice")
    await store.create(original)

    with pytest.raises(DuplicateIDError):
        await store.create(make_session(id="same", user_key="mallory"))

    assert await store.fetch_by_id("same") == original


async def test_create_reuses_the_id_of_an_expired_session(
    store: SQLiteStore, make_session: MakeSession
):
    await store.create(make_session(id="reused", user_key="old", ttl=timedelta(seconds=-1)))

    fresh = make_session(id="reused", user_key="new")
    await store.create(fresh)

    assert await store.fetch_by_id("reused") == fresh
    assert await store.fetch_by_user_key("old") == []


async def test_touch_only_moves_expiry_later(store: SQLiteStore, make_session: MakeSession):
    session = make_session()
    await store.create(session)
    later = session.expires_at + timedelta(minutes=5)

    assert await store.touch(session.id, later) is True
    assert await store.touch(session.id, session.expires_at) is True

    fetched = await store.fetch_by_id(session.id)
    assert fetched is not None
    assert fetched.expires_at == later


async def test_touch_of_an_absent_session_writes_nothing(
    store: SQLiteStore, db_path: Path, make_session: MakeSession
):
    await store.create(make_session(id="present"))
    with raw(db_path) as conn:
        before = conn.execute("SELECT * FROM sessionup_sessions").fetchall()

    assert await store.touch("absent", datetime.now(UTC) + timedelta(days=1)) is False

    with raw(db_path) as conn:
        assert conn.execute("SELECT * FROM sessionup_sessions").fetchall() == before


async def test_touch_rejects_a_naive_datetime(store: SQLiteStore, make_session: MakeSession):
    session = make_session()
    await store.create(session)

    with pytest.raises(ValueError, match="timezone-aware"):
        await store.touch(session.id, datetime.now())


async def test_delete_by_user_key_spares_except_ids_and_other_users(
    store: SQLiteStore, make_session: MakeSession
):
    keep, gone1, gone2 = (make_session(user_key="alice") for _ in range(3))
    bob = make_session(user_key="bob")
    for session in (keep, gone1, gone2, bob):
        await store.create(session)

    count = await store.delete_by_user_key("alice", except_ids=[keep.id, bob.id])

    assert count == 2
    assert await store.fetch_by_user_key("alice") == [keep]
    assert await store.fetch_by_id(bob.id) == bob


async def test_delete_by_user_key_counts_live_sessions_and_clears_expired_rows(
    store: SQLiteStore, db_path: Path, make_session: MakeSession
):
    await store.create(make_session(user_key="alice"))
    await store.create(make_session(user_key="alice", ttl=timedelta(seconds=-5)))

    assert await store.delete_by_user_key("alice") == 1

    with raw(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM sessionup_sessions").fetchone() == (0,)


async def test_delete_by_user_key_refuses_a_single_string(store: SQLiteStore):
    with pytest.raises(TypeError, match="collection"):
        await store.delete_by_user_key("alice", except_ids="abc")


async def test_delete_by_id_removes_the_row_of_an_expired_session(
    store: SQLiteStore, db_path: Path, make_session: MakeSession
):
    expired = make_session(ttl=timedelta(seconds=-1))
    await store.create(expired)

    assert await store.delete_by_id(expired.id) is False

    with raw(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM sessionup_sessions").fetchone() == (0,)


async def test_delete_expired_honours_the_limit(store: SQLiteStore, make_session: MakeSession):
    live = make_session()
    await store.create(live)
    for _ in range(5):
        await store.create(make_session(ttl=timedelta(seconds=-1)))

    assert await store.delete_expired(limit=2) == 2
    assert await store.delete_expired(limit=2) == 2
    assert await store.delete_expired(limit=2) == 1
    assert await store.delete_expired() == 0
    assert await store.fetch_by_id(live.id) == live


async def test_delete_expired_without_a_limit_works_through_every_batch(
    store: SQLiteStore, db_path: Path
):
    past = datetime_to_micros(datetime.now(UTC)) - 1_000_000
    rows = [(f"old-{i}", "u", past, past, None, None, None, "{}") for i in range(PURGE_BATCH + 7)]
    with raw(db_path) as conn:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO sessionup_sessions VALUES (?,?,?,?,?,?,?,?)", rows)
        conn.execute("COMMIT")

    assert await store.delete_expired() == PURGE_BATCH + 7


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
async def test_delete_expired_rejects_a_bad_limit(store: SQLiteStore, limit: object):
    with pytest.raises(ValueError, match="limit"):
        await store.delete_expired(limit=limit)  # type: ignore[arg-type]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
async def test_hostile_ids_and_user_keys_are_only_data(
    store: SQLiteStore, make_session: MakeSession, hostile: str
):
    bystander = make_session(id="bystander", user_key="bystander")
    target = make_session(id=hostile, user_key=hostile)
    await store.create(bystander)
    await store.create(target)

    assert await store.fetch_by_id(hostile) == target
    assert await store.fetch_by_user_key(hostile) == [target]
    assert await store.delete_by_user_key(hostile) == 1

    assert await store.fetch_by_id("bystander") == bystander


async def test_an_id_that_is_not_valid_unicode_is_simply_absent(
    store: SQLiteStore, make_session: MakeSession
):
    lone_surrogate = "\ud800"

    assert await store.fetch_by_id(lone_surrogate) is None
    assert await store.fetch_by_user_key(lone_surrogate) == []
    assert await store.delete_by_id(lone_surrogate) is False
    assert await store.touch(lone_surrogate, datetime.now(UTC)) is False
    with pytest.raises(StoreError, match="Unicode"):
        await store.create(make_session(id=lone_surrogate))


async def test_a_large_user_key_and_meta_round_trip(store: SQLiteStore, make_session: MakeSession):
    user_key = "ü" * 1024
    meta = {f"key{i:02}": "v" * 120 for i in range(32)}
    session = make_session(user_key=user_key, meta=meta)

    await store.create(session)

    assert await store.fetch_by_user_key(user_key) == [session]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("meta", "not json"),
        ("meta", '["a list"]'),
        ("meta", '{"k": 1}'),
        ("ip", "999.1.1.1"),
        ("expires_at", "'soon'"),
        ("user_key", "x'00ff'"),
        ("meta", "CAST(x'7b22fe223a2261227d' AS TEXT)"),
        ("browser", "CAST(x'ff' AS TEXT)"),
    ],
)
async def test_a_tampered_row_is_logged_and_treated_as_no_session(
    store: SQLiteStore,
    db_path: Path,
    make_session: MakeSession,
    caplog: pytest.LogCaptureFixture,
    column: str,
    value: str,
):
    tampered, intact = make_session(user_key="alice"), make_session(user_key="alice")
    await store.create(tampered)
    await store.create(intact)
    literal = value if value.startswith(("'", "x'", "CAST")) else f"'{value}'"
    with raw(db_path) as conn:
        conn.execute(
            f"UPDATE sessionup_sessions SET {column} = {literal} WHERE id = ?", (tampered.id,)
        )

    with caplog.at_level(logging.WARNING, logger="sessionup.stores.sqlite"):
        by_id = await store.fetch_by_id(tampered.id)
        by_user = await store.fetch_by_user_key("alice")

    assert by_id is None
    assert by_user == [intact]
    assert "cannot be decoded" in caplog.text
    assert tampered.id not in caplog.text


async def test_sessions_written_by_one_instance_are_read_by_the_next(
    db_path: Path, make_session: MakeSession
):
    session = make_session()
    async with SQLiteStore(db_path) as first:
        await first.create(session)

    async with SQLiteStore(db_path) as second:
        assert await second.fetch_by_id(session.id) == session


async def test_the_file_is_in_wal_mode_with_indexes_on_user_key_and_expiry(
    store: SQLiteStore, db_path: Path
):
    with raw(db_path) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(sessionup_sessions)")}
        by_user = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM sessionup_sessions "
            "WHERE user_key = ? AND expires_at > ?",
            ("a", 0),
        ).fetchall()
        purge = conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM sessionup_sessions "
            "WHERE expires_at <= ? ORDER BY expires_at LIMIT 10",
            (0,),
        ).fetchall()
        layout = conn.execute("SELECT store_table, version FROM sessionup_layout").fetchall()

    assert mode == ("wal",)
    assert {"sessionup_sessions_user_key", "sessionup_sessions_expires_at"} <= indexes
    assert "sessionup_sessions_user_key" in str(by_user)
    assert "sessionup_sessions_expires_at" in str(purge)
    assert layout == [("sessionup_sessions", LAYOUT_VERSION)]


async def test_the_connection_carries_the_options(db_path: Path):
    store = SQLiteStore(db_path, busy_timeout=timedelta(seconds=1.5), synchronous="full")

    async with store:
        assert store._conn is not None
        busy = await store._conn.execute_fetchall("PRAGMA busy_timeout")
        synchronous = await store._conn.execute_fetchall("PRAGMA synchronous")

    assert list(busy) == [(1500,)]
    assert list(synchronous) == [(2,)]


async def test_two_tables_share_one_file(db_path: Path, make_session: MakeSession):
    session = make_session()

    async with SQLiteStore(db_path, table="app_a") as a, SQLiteStore(db_path, table="b") as b:
        await a.create(session)

        assert await a.fetch_by_id(session.id) == session
        assert await b.fetch_by_id(session.id) is None


async def test_memory_databases_are_private_to_their_instance(make_session: MakeSession):
    session = make_session()

    async with SQLiteStore(":memory:") as first, SQLiteStore(":memory:") as second:
        await first.create(session)

        assert await first.fetch_by_id(session.id) == session
        assert await second.fetch_by_id(session.id) is None
    assert first.traits.persistent is False
    assert SQLiteStore("x.db").traits.persistent is True


async def test_the_constructor_does_no_io(tmp_path: Path):
    path = tmp_path / "never.db"

    SQLiteStore(path)

    assert not path.exists()


async def test_many_coroutines_at_once_lose_nothing(store: SQLiteStore, make_session: MakeSession):
    sessions = [make_session(user_key=f"user{i % 5}") for i in range(200)]

    await asyncio.gather(*(store.create(s) for s in sessions))
    removed = await asyncio.gather(*(store.delete_by_id(s.id) for s in sessions[::2]))

    assert all(removed)
    remaining = [s for key in range(5) for s in await store.fetch_by_user_key(f"user{key}")]
    assert sorted(s.id for s in remaining) == sorted(s.id for s in sessions[1::2])


async def test_use_after_close_raises_store_closed(db_path: Path, make_session: MakeSession):
    store = SQLiteStore(db_path)
    await store.open()
    await store.close()
    await store.close()

    with pytest.raises(StoreClosedError):
        await store.fetch_by_id("x")
    with pytest.raises(StoreClosedError):
        await store.create(make_session())
    with pytest.raises(StoreClosedError):
        await store.open()


async def test_a_store_closed_before_use_never_opens(db_path: Path):
    store = SQLiteStore(db_path)
    await store.close()

    with pytest.raises(StoreClosedError):
        await store.delete_expired()
    assert not await asyncio.to_thread(db_path.exists)


async def test_an_unopenable_file_raises_store_error_with_the_cause(tmp_path: Path):
    store = SQLiteStore(tmp_path)

    with pytest.raises(StoreError, match="cannot open") as caught:
        await store.open()

    assert isinstance(caught.value.__cause__, sqlite3.Error)
    await store.close()
    # aiosqlite's worker thread reports its own shutdown to the loop just after a failed
    # connect; give it that moment so it does not find the test's loop closed.
    await asyncio.sleep(0.05)


async def test_a_file_that_is_not_a_database_raises_store_error(tmp_path: Path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are not the sessions you are looking for" * 100)
    store = SQLiteStore(path)

    with pytest.raises(StoreError, match="cannot open") as caught:
        await store.open()

    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    await store.close()


async def test_a_missing_folder_is_named_in_the_error(tmp_path: Path):
    store = SQLiteStore(tmp_path / "missing-dir" / "sessions.db")

    with pytest.raises(StoreError, match="missing-dir does not exist") as caught:
        await store.fetch_by_id("x")

    assert isinstance(caught.value.__cause__, FileNotFoundError)
    await store.close()


async def test_a_write_lock_held_elsewhere_fails_within_the_busy_timeout(
    db_path: Path, make_session: MakeSession
):
    async with SQLiteStore(db_path, busy_timeout=timedelta(milliseconds=200)) as store:
        blocker = raw(db_path)
        blocker.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        try:
            with pytest.raises(StoreError, match="locked") as caught:
                await store.create(make_session())
        finally:
            blocker.rollback()
            blocker.close()

    assert time.monotonic() - started < 2
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)


async def test_a_slow_operation_fails_within_the_timeout(db_path: Path, make_session: MakeSession):
    store = SQLiteStore(
        db_path, busy_timeout=timedelta(seconds=5), timeout=timedelta(milliseconds=200)
    )
    await store.open()
    blocker = raw(db_path)
    blocker.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    try:
        with pytest.raises(StoreError, match="took more than") as caught:
            await store.create(make_session())
    finally:
        blocker.rollback()
        blocker.close()

    assert time.monotonic() - started < 2
    assert isinstance(caught.value.__cause__, TimeoutError)
    await store.close()
