"""The Redis store's own behaviour, on the shared server and on the cluster.

What the conformance suite cannot see: the key layout, native expiry, index pruning, the
layout version, tampered records, races between writers, and how many commands it sends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis_servers import RedisProcess, delete_prefix, free_port

from sessionup.core import DuplicateIDError, Session, StoreClosedError, StoreError
from sessionup.core.session import datetime_to_micros
from sessionup.stores.redis import RedisStore

Factory = Callable[..., RedisStore]


def session(user_key: str = "alice", *, sid: str | None = None, **changes: Any) -> Session:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "id": sid or secrets.token_hex(32),
        "user_key": user_key,
        "created_at": now,
        "expires_at": now + timedelta(hours=1),
        "meta": {"device": "laptop"},
    }
    fields.update(changes)
    return Session(**fields)


def raw_client(store: RedisStore) -> Any:
    """A plain redis-py client on the store's server or cluster, for looking behind it."""
    target = store._target
    if target.cluster:
        return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in target.nodes])
    host, port = target.nodes[0]
    return aioredis.Redis(host=host, port=port, db=target.db or 0)


def ceil_ms(moment: datetime) -> int:
    return -(-datetime_to_micros(moment) // 1000)


async def test_a_record_is_a_json_string_that_expires_at_its_expiry(any_store: Factory) -> None:
    async with any_store() as store:
        created = session(expires_at=datetime.now(UTC) + timedelta(minutes=5, microseconds=7))
        await store.create(created)
        raw = raw_client(store)

        value = await raw.get(store._keys.record(created.id))
        deadline = await raw.pexpiretime(store._keys.record(created.id))
        await raw.aclose()

    record = json.loads(value)
    assert record["expires_at"] == datetime_to_micros(created.expires_at)
    assert record["user_key"] == "alice"
    assert record["v"] == 1
    assert deadline == ceil_ms(created.expires_at)


async def test_the_user_index_is_scored_by_expiry_and_lives_as_long_as_its_last_entry(
    any_store: Factory,
) -> None:
    now = datetime.now(UTC)
    short = session(expires_at=now + timedelta(minutes=1))
    long = session(expires_at=now + timedelta(hours=3))
    async with any_store() as store:
        await store.create(long)
        await store.create(short)
        raw = raw_client(store)

        index = store._keys.index("alice")
        entries = await raw.zrange(index, 0, -1, withscores=True)
        deadline = await raw.pexpiretime(index)
        await raw.aclose()

    assert entries == [
        (short.id.encode(), float(ceil_ms(short.expires_at))),
        (long.id.encode(), float(ceil_ms(long.expires_at))),
    ]
    assert deadline == ceil_ms(long.expires_at)


async def test_touch_raises_the_index_score_and_the_record_ttl(any_store: Factory) -> None:
    created = session()
    later = created.expires_at + timedelta(hours=2)
    async with any_store() as store:
        await store.create(created)

        assert await store.touch(created.id, later)

        raw = raw_client(store)
        score = await raw.zscore(store._keys.index("alice"), created.id)
        deadline = await raw.pexpiretime(store._keys.record(created.id))
        index_deadline = await raw.pexpiretime(store._keys.index("alice"))
        await raw.aclose()
        fetched = await store.fetch_by_id(created.id)
    assert fetched is not None
    assert fetched.expires_at == later
    assert score == ceil_ms(later)
    assert deadline == ceil_ms(later) == index_deadline


async def test_expired_index_entries_are_pruned_when_the_user_is_listed(
    any_store: Factory,
) -> None:
    soon = session(expires_at=datetime.now(UTC) + timedelta(milliseconds=150))
    kept = session()
    async with any_store() as store:
        await store.create(soon)
        await store.create(kept)
        await asyncio.sleep(0.3)

        listed = await store.fetch_by_user_key("alice")

        raw = raw_client(store)
        members = await raw.zrange(store._keys.index("alice"), 0, -1)
        await raw.aclose()
    assert [s.id for s in listed] == [kept.id]
    assert members == [kept.id.encode()]


async def test_an_index_entry_whose_record_vanished_is_pruned_when_met(
    any_store: Factory,
) -> None:
    gone, kept = session(), session()
    async with any_store() as store:
        await store.create(gone)
        await store.create(kept)
        raw = raw_client(store)
        await raw.delete(store._keys.record(gone.id))

        listed = await store.fetch_by_user_key("alice")

        members = await raw.zrange(store._keys.index("alice"), 0, -1)
        await raw.aclose()
    assert [s.id for s in listed] == [kept.id]
    assert members == [kept.id.encode()]


async def test_deleting_removes_index_entries_along_with_records(any_store: Factory) -> None:
    sessions = [session() for _ in range(4)]
    async with any_store() as store:
        for created in sessions:
            await store.create(created)
        raw = raw_client(store)
        index = store._keys.index("alice")

        await store.delete_by_id(sessions[0].id)
        after_one = await raw.zrange(index, 0, -1)
        await store.delete_by_user_key("alice", except_ids=[sessions[1].id])
        after_all = await raw.zrange(index, 0, -1)
        await raw.aclose()

    assert sessions[0].id.encode() not in after_one
    assert len(after_one) == 3
    assert after_all == [sessions[1].id.encode()]


async def test_user_keys_and_ids_with_braces_and_globs_are_plain_data(
    any_store: Factory,
) -> None:
    users = ["{alice}", "%7Balice%7D", "alice*", "a{b", "}{", "*"]
    async with any_store() as store:
        made = {u: session(u, sid=f"{{{u}}}*?[x]") for u in users}
        for created in made.values():
            await store.create(created)

        for user_key, created in made.items():
            assert [s.id for s in await store.fetch_by_user_key(user_key)] == [created.id]
            assert await store.fetch_by_id(created.id) == created
        assert await store.delete_by_user_key("*") == 1
        assert await store.fetch_by_user_key("alice*") == [made["alice*"]]
        assert await store.fetch_by_user_key("alice") == []


@pytest.mark.parametrize("prefix", ["app{tag}:", "app{:", "app{}:", "a:b:c:", "}{*?:"])
async def test_any_prefix_works_on_the_cluster(
    cluster: list[RedisProcess], cluster_url: str, prefix: str
) -> None:
    # Each prefix lands the keys differently: in one slot ({tag}), spread (open brace, or an
    # empty tag, which Redis ignores). Every operation touches one key, so all must work.
    unique = f"{prefix}{secrets.token_hex(4)}:"
    sessions = [session("bob") for _ in range(5)]
    try:
        async with RedisStore(cluster_url, prefix=unique) as store:
            for created in sessions:
                await store.create(created)
            assert await store.touch(sessions[0].id, datetime.now(UTC) + timedelta(hours=5))
            assert len(await store.fetch_by_user_key("bob")) == 5
            assert await store.delete_by_id(sessions[1].id)
            assert await store.delete_by_user_key("bob", except_ids=[sessions[2].id]) == 3
            assert [s.id for s in await store.fetch_by_user_key("bob")] == [sessions[2].id]
    finally:
        for node in cluster:
            with node.client() as client:
                delete_prefix(client, unique)


async def test_stores_with_different_prefixes_do_not_meet(redis_url: str) -> None:
    first, second = (f"sessionup-test:{secrets.token_hex(4)}:" for _ in range(2))
    created = session()
    try:
        async with (
            RedisStore(redis_url, prefix=first) as a,
            RedisStore(redis_url, prefix=second) as b,
        ):
            await a.create(created)
            assert await b.fetch_by_id(created.id) is None
            assert await b.fetch_by_user_key("alice") == []
            assert await b.delete_by_user_key("alice") == 0
            assert await a.fetch_by_id(created.id) == created
    finally:
        import redis

        with redis.Redis.from_url(redis_url) as client:
            delete_prefix(client, first)
            delete_prefix(client, second)


async def test_the_layout_version_is_recorded_and_a_newer_one_refused(
    any_store: Factory,
) -> None:
    async with any_store() as store:
        raw = raw_client(store)
        assert await raw.get(store._keys.layout) == b"1"
        await raw.set(store._keys.layout, b"2")
        await raw.aclose()

    newer = any_store()
    with pytest.raises(StoreError, match=r"use data layout b'2'; this release .* reads layout 1"):
        await newer.open()
    await newer.close()


@pytest.mark.parametrize(
    "tampered",
    [
        b"not json",
        b"[1, 2]",
        b'{"v": 99}',
        b'{"v": 1, "id": "x"}',
        b"\xff\xfe",
        b"[" * 100_000,
    ],
)
async def test_a_tampered_record_is_no_session_and_is_logged(
    any_store: Factory, tampered: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    created = session()
    async with any_store() as store:
        await store.create(created)
        raw = raw_client(store)
        await raw.set(store._keys.record(created.id), tampered)
        await raw.aclose()

        with caplog.at_level(logging.WARNING, logger="sessionup.stores.redis"):
            assert await store.fetch_by_id(created.id) is None
            assert await store.fetch_by_user_key("alice") == []
            assert not await store.touch(created.id, created.expires_at + timedelta(hours=1))
            assert await store.delete_by_user_key("alice") == 0

    assert "unreadable session record" in caplog.text
    assert created.id not in caplog.text


async def test_a_record_moved_under_another_id_is_no_session(any_store: Factory) -> None:
    created = session()
    async with any_store() as store:
        await store.create(created)
        raw = raw_client(store)
        value = await raw.get(store._keys.record(created.id))
        await raw.set(store._keys.record("forged"), value)
        await raw.aclose()

        assert await store.fetch_by_id("forged") is None


async def test_concurrent_touches_keep_the_latest_expiry(any_store: Factory) -> None:
    created = session()
    base = created.expires_at
    targets = [base + timedelta(minutes=m) for m in range(1, 31)]
    async with any_store() as store:
        await store.create(created)

        results = await asyncio.gather(*(store.touch(created.id, t) for t in reversed(targets)))

        fetched = await store.fetch_by_id(created.id)
    assert all(results)
    assert fetched is not None
    assert fetched.expires_at == targets[-1]


async def test_revoking_while_touching_never_brings_a_session_back(any_store: Factory) -> None:
    sessions = [session() for _ in range(20)]
    later = datetime.now(UTC) + timedelta(hours=4)
    async with any_store() as store:
        for created in sessions:
            await store.create(created)

        touches = [store.touch(s.id, later) for s in sessions]
        results = await asyncio.gather(store.delete_by_user_key("alice"), *touches)

        assert results[0] == 20
        assert await store.fetch_by_user_key("alice") == []
        for created in sessions:
            assert await store.fetch_by_id(created.id) is None


async def test_a_duplicate_id_keeps_the_original_and_its_index(any_store: Factory) -> None:
    original = session("alice", sid="shared-id")
    async with any_store() as store:
        await store.create(original)

        with pytest.raises(DuplicateIDError):
            await store.create(session("mallory", sid="shared-id"))

        assert await store.fetch_by_id("shared-id") == original
        assert await store.fetch_by_user_key("mallory") == []
        assert await store.delete_by_user_key("mallory") == 0
        assert await store.fetch_by_user_key("alice") == [original]


async def test_a_second_instance_reads_what_the_first_wrote(any_store: Factory) -> None:
    created = session()
    async with any_store() as first:
        await first.create(created)

    async with any_store() as second:
        assert await second.fetch_by_id(created.id) == created


async def test_close_is_idempotent_and_use_after_close_raises(any_store: Factory) -> None:
    store = any_store()
    await store.open()
    await store.close()
    await store.close()

    with pytest.raises(StoreClosedError):
        await store.fetch_by_id("x")
    with pytest.raises(StoreClosedError):
        await store.open()


@pytest.mark.parametrize("scheme", ["redis", "redis+cluster"])
async def test_a_server_that_is_not_there_raises_store_error_in_bounded_time(scheme: str) -> None:
    store = RedisStore(
        f"{scheme}://127.0.0.1:{free_port()}",
        connect_timeout=timedelta(milliseconds=500),
        socket_timeout=timedelta(milliseconds=500),
    )
    started = time.monotonic()

    with pytest.raises(StoreError) as failure:
        await store.fetch_by_id("x")

    assert time.monotonic() - started < 10
    assert failure.value.__cause__ is not None
    await store.close()


@pytest.fixture
def private_redis(tmp_path: Any) -> Iterator[RedisProcess]:
    """A redis-server of this test's own, so its command counts are ours alone."""
    server = RedisProcess(tmp_path / "redis", free_port())
    server.start()
    yield server
    server.stop()


def command_counts(server: RedisProcess) -> dict[str, int]:
    with server.client() as client:
        stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


@pytest.mark.parametrize("sessions_of_user", [1, 10, 100])
async def test_listing_a_user_costs_two_commands_whatever_their_number(
    private_redis: RedisProcess, sessions_of_user: int
) -> None:
    async with RedisStore(private_redis.url) as store:
        for _ in range(sessions_of_user):
            await store.create(session("carol"))
        await store.fetch_by_user_key("carol")  # scripts are cached from here on
        before = command_counts(private_redis)

        listed = await store.fetch_by_user_key("carol")

        after = command_counts(private_redis)
    spent = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    for ours in ("info", "hello", "client"):  # what command_counts itself sends
        spent.pop(ours, None)
    assert len(listed) == sessions_of_user
    assert spent == {"evalsha": 1, "mget": 1, "zremrangebyscore": 1, "zrange": 1}
