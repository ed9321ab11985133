"""The store when the server goes away, and behind PgBouncer in transaction mode.

The restart tests run their own throwaway cluster on a free port, never the shared server.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from postgres_cluster import PgBouncer, PrivateCluster, server_bindir
from postgres_support import session, unavailable
from psycopg.conninfo import conninfo_to_dict

from sessionup.core import StoreError
from sessionup.stores.postgres import PostgresStore


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    """A private server, started; stopped and removed after the module's tests."""
    bindir = server_bindir()
    if bindir is None:
        unavailable("no PostgreSQL server binaries (initdb, pg_ctl) are installed")
    cluster = PrivateCluster(bindir)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def quick_store(url: str, **options: object) -> PostgresStore:
    settings: dict[str, object] = {
        "connect_timeout": timedelta(seconds=1),
        "statement_timeout": timedelta(seconds=2),
        "min_size": 2,
        "max_size": 4,
        "schema": "resilience",
    }
    settings.update(options)
    return PostgresStore.from_url(url, **settings)


async def until_it_answers(store: PostgresStore, id: str, within: float) -> float:
    """Poll ``fetch_by_id`` until it stops failing; return how long that took."""
    started = time.monotonic()
    while True:
        try:
            await store.fetch_by_id(id)
        except StoreError:
            if time.monotonic() - started > within:
                raise
            await asyncio.sleep(0.2)
        else:
            return time.monotonic() - started


async def test_requests_fail_fast_while_the_server_is_down_and_recover_after(
    cluster: PrivateCluster,
) -> None:
    async with quick_store(cluster.url) as store:
        await store.create(session("before"))

        cluster.stop()
        timings = []
        try:
            for call in (
                store.fetch_by_id("before"),
                store.fetch_by_user_key("alice"),
                store.create(session("during")),
                store.delete_by_id("before"),
                store.fetch_by_id("before"),
            ):
                started = time.monotonic()
                with pytest.raises(StoreError) as caught:
                    await call
                timings.append(time.monotonic() - started)
                assert caught.value.__cause__ is not None
        finally:
            cluster.start()

        recovery = await until_it_answers(store, "before", within=30)
        kept = await store.fetch_by_id("before")
        await store.create(session("after"))
        after = await store.fetch_by_id("after")

    assert max(timings) < 4.5
    assert recovery < 30
    assert kept is not None
    assert after is not None


async def test_reads_right_after_a_restart_do_not_fail_on_stale_connections(
    cluster: PrivateCluster,
) -> None:
    async with quick_store(cluster.url, min_size=3, max_size=3, schema="stale") as store:
        await store.create(session("stale"))
        await asyncio.gather(*(store.fetch_by_id("stale") for _ in range(6)))

        cluster.stop()
        cluster.start()
        fetched = await store.fetch_by_id("stale")
        listed = await store.fetch_by_user_key("alice")

    assert fetched is not None
    assert [s.id for s in listed] == ["stale"]


async def test_a_store_opened_while_the_server_is_down_starts_working_when_it_is_up(
    cluster: PrivateCluster,
) -> None:
    cluster.stop()
    store = quick_store(cluster.url, schema="late_start")
    try:
        with pytest.raises(StoreError):
            await store.open()
        cluster.start()
        recovery = await until_it_answers(store, "x", within=30)
    finally:
        await store.close()

    assert recovery < 30


@pytest.fixture
def pgbouncer(postgres_url: str) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode, one server connection, in front of the test database."""
    binary = shutil.which("pgbouncer") or shutil.which("/usr/sbin/pgbouncer")
    if binary is None:
        unavailable("pgbouncer is not installed (apt-get install pgbouncer)")
    params = conninfo_to_dict(postgres_url)
    bouncer = PgBouncer(
        binary,
        host=str(params.get("host", "127.0.0.1")),
        port=int(params.get("port", 5432) or 5432),
        dbname=str(params["dbname"]),
    )
    try:
        bouncer.start()
        yield bouncer
    finally:
        bouncer.destroy()


async def test_pgbouncer_mode_works_behind_transaction_pooling(
    pgbouncer: PgBouncer, schema: str
) -> None:
    store = PostgresStore.from_url(pgbouncer.url, pgbouncer=True, schema=schema, max_size=4)

    async with store:
        await asyncio.gather(*(store.create(session(f"b{i}", f"u{i % 3}")) for i in range(40)))
        for _ in range(3):
            found = await asyncio.gather(*(store.fetch_by_id(f"b{i}") for i in range(40)))
            listed = await asyncio.gather(*(store.fetch_by_user_key(f"u{i}") for i in range(3)))
        revoked = await store.delete_by_user_key("u0", except_ids=["b0"])

    assert all(found)
    assert sorted(len(sessions) for sessions in listed) == [13, 13, 14]
    assert revoked == 13


async def test_prepared_statements_break_behind_transaction_pooling(
    pgbouncer: PgBouncer, schema: str
) -> None:
    """Why ``pgbouncer=true`` exists: without it, two clients sharing one server connection
    collide on the names of the statements psycopg prepares there."""
    options = {"schema": schema, "min_size": 1, "max_size": 1, "prepare_threshold": 0}
    first = PostgresStore.from_url(pgbouncer.url, **options)
    second = PostgresStore.from_url(pgbouncer.url, **options)

    async with first, second:
        await first.fetch_by_id("x")
        with pytest.raises(StoreError) as caught:
            await second.fetch_by_user_key("alice")

    assert isinstance(
        caught.value.__cause__,
        psycopg.errors.DuplicatePreparedStatement | psycopg.errors.InvalidSqlStatementName,
    )
