"""A Redis server that dies and comes back: errors in bounded time, then work as before."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from redis_servers import RedisProcess, cluster_url, free_port, start_cluster

from sessionup.core import Manager, Session, StoreError, current_session
from sessionup.core.asgi import Receive, Scope, Send
from sessionup.stores.redis import RedisStore

# A store call against a dead server must fail within this many seconds.
BOUND = 5.0
TIMEOUT = timedelta(milliseconds=500)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path / "redis", free_port())
    server.start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def store(server: RedisProcess) -> AsyncIterator[RedisStore]:
    store = RedisStore(server.url, connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
    yield store
    await store.close()


def restart(server: RedisProcess) -> None:
    """Kill the server hard and start it again on the same port, with its data on disk."""
    with server.client() as client:
        client.save()
    server.stop()
    server.start()


async def echo_user(scope: Scope, receive: Receive, send: Send) -> None:
    found = current_session(scope)
    body = (found.user_key if found else "").encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_a_dead_server_fails_each_operation_in_bounded_time_and_the_store_recovers(
    server: RedisProcess, store: RedisStore
) -> None:
    now = datetime.now(UTC)
    kept = Session(id="kept", user_key="alice", created_at=now, expires_at=now + timedelta(hours=1))
    await store.create(kept)
    with server.client() as client:
        client.save()
    server.stop()

    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "fetch_by_id": lambda: store.fetch_by_id("kept"),
        "fetch_by_user_key": lambda: store.fetch_by_user_key("alice"),
        "create": lambda: store.create(
            Session(id="new", user_key="bob", created_at=now, expires_at=now + timedelta(hours=1))
        ),
        "touch": lambda: store.touch("kept", now + timedelta(hours=2)),
        "delete_by_id": lambda: store.delete_by_id("other"),
        "delete_by_user_key": lambda: store.delete_by_user_key("carol"),
    }
    for name, call in calls.items():
        started = time.monotonic()
        with pytest.raises(StoreError) as failure:
            await call()
        assert time.monotonic() - started < BOUND, f"{name} took too long to fail"
        assert failure.value.__cause__ is not None, f"{name} lost the driver's error"

    server.start()

    assert await store.fetch_by_id("kept") == kept
    # The restarted server has forgotten the scripts: they are sent again transparently.
    assert await store.touch("kept", now + timedelta(hours=2))
    assert [s.id for s in await store.fetch_by_user_key("alice")] == ["kept"]
    assert await store.delete_by_user_key("alice") == 1


async def test_auth_answers_503_while_redis_is_down_and_200_after_without_a_restart(
    server: RedisProcess, store: RedisStore
) -> None:
    manager = Manager(store, secure=False)
    app = manager.auth(echo_user)
    token, _ = await manager.issue("alice")
    cookie = {"cookie": f"sessionup={token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        before = await http.get("/", headers=cookie)
        with server.client() as client:
            client.save()
        server.stop()

        started = time.monotonic()
        during = await http.get("/", headers=cookie)
        elapsed = time.monotonic() - started
        server.start()
        after = await http.get("/", headers=cookie)

    assert (before.status_code, before.text) == (200, "alice")
    assert during.status_code == 503
    assert during.json() == {"error": "session store unavailable"}
    assert elapsed < BOUND
    assert (after.status_code, after.text) == (200, "alice")


async def test_a_restart_while_idle_goes_unnoticed(server: RedisProcess, store: RedisStore) -> None:
    now = datetime.now(UTC)
    kept = Session(id="kept", user_key="alice", created_at=now, expires_at=now + timedelta(hours=1))
    await store.create(kept)

    restart(server)

    # The pooled connections are dead; the driver's one retry uses a new one.
    assert await store.fetch_by_id("kept") == kept


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[list[RedisProcess]]:
    """A cluster of this test's own, since the test takes one of its masters down."""
    nodes = start_cluster(tmp_path / "cluster")
    yield nodes
    for node in nodes:
        node.stop()


async def test_a_cluster_master_going_down_fails_in_bounded_time_and_comes_back(
    own_cluster: list[RedisProcess],
) -> None:
    now = datetime.now(UTC)
    sessions = [
        Session(id=f"s{i}", user_key="alice", created_at=now, expires_at=now + timedelta(hours=1))
        for i in range(30)
    ]
    store = RedisStore(cluster_url(own_cluster), connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
    for created in sessions:
        await store.create(created)
    lost = own_cluster[2]
    with lost.client() as client:
        client.save()
    lost.stop()

    outcomes = []
    for created in sessions:
        started = time.monotonic()
        try:
            outcomes.append(await store.fetch_by_id(created.id) == created)
        except StoreError:
            outcomes.append(False)
        assert time.monotonic() - started < BOUND, "fetch_by_id took too long with a master down"
    started = time.monotonic()
    with pytest.raises(StoreError):
        await store.fetch_by_user_key("alice")
    assert time.monotonic() - started < BOUND
    assert not all(outcomes), "no session lived on the stopped master: the test proves nothing"

    lost.start()
    for node in own_cluster:
        node.wait_until(
            lambda c: b"cluster_state:ok" in c.execute_command("CLUSTER", "INFO"),  # type: ignore[no-untyped-call]
            "reported cluster_state:ok after the restart",
        )
    listed = await store.fetch_by_user_key("alice")
    await store.close()

    assert sorted(s.id for s in listed) == sorted(s.id for s in sessions)
