"""Redis Cluster specifics: a slot moving to another master while the store is in use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis_servers import RedisProcess, cluster_url, start_cluster

from sessionup.core import Session
from sessionup.stores.redis import RedisStore


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[list[RedisProcess]]:
    """A cluster of this test's own, since the test reshards it."""
    nodes = start_cluster(tmp_path / "cluster")
    yield nodes
    for node in nodes:
        node.stop()


def command(node: RedisProcess, *args: object) -> object:
    with node.client() as client:
        return client.execute_command(*args)  # type: ignore[no-untyped-call]


def move_slot_of(key: bytes, nodes: list[RedisProcess]) -> None:
    """Migrate the slot holding ``key``, and its keys, to another master, as resharding does."""
    slot = command(nodes[0], "CLUSTER", "KEYSLOT", key)
    owner = next(n for n in nodes if command(n, "CLUSTER", "COUNTKEYSINSLOT", slot))
    target = next(n for n in nodes if n is not owner)
    owner_id = command(owner, "CLUSTER", "MYID")
    target_id = command(target, "CLUSTER", "MYID")

    command(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", owner_id)
    command(owner, "CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
    keys = command(owner, "CLUSTER", "GETKEYSINSLOT", slot, 1000)
    command(owner, "MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)  # type: ignore[misc]
    for node in nodes:
        command(node, "CLUSTER", "SETSLOT", slot, "NODE", target_id)


async def test_the_store_follows_a_slot_moved_to_another_master(
    own_cluster: list[RedisProcess],
) -> None:
    now = datetime.now(UTC)
    created = Session(id="moving", user_key="alice", created_at=now, expires_at=now + timedelta(1))
    others = [
        Session(id=f"s{i}", user_key="alice", created_at=now, expires_at=now + timedelta(1))
        for i in range(10)
    ]
    async with RedisStore(cluster_url(own_cluster)) as store:
        for session in [created, *others]:
            await store.create(session)

        move_slot_of(store._keys.record(created.id), own_cluster)
        move_slot_of(store._keys.index("alice"), own_cluster)

        assert await store.fetch_by_id(created.id) == created
        assert await store.touch(created.id, now + timedelta(days=2))
        assert len(await store.fetch_by_user_key("alice")) == 11
        assert await store.delete_by_id(created.id)
        assert await store.delete_by_user_key("alice") == 10
        assert await store.fetch_by_user_key("alice") == []
