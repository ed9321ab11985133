"""Fixtures: the shared server, a private three-master cluster, stores under unique prefixes."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest
import redis
from redis_servers import REDIS_URL, RedisProcess, delete_prefix, start_cluster, unavailable

from sessionup.stores.redis import RedisStore


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The shared standalone server, checked to be reachable."""
    try:
        with redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2) as c:
            c.ping()
    except redis.RedisError as exc:
        unavailable(
            f"Redis is not reachable at {REDIS_URL} ({exc}); start it or set "
            "SESSIONUP_TEST_REDIS_URL"
        )
    return REDIS_URL


@pytest.fixture
def prefix() -> str:
    """A prefix unique to the test, with the characters that break naive key handling."""
    return f"sessionup-test:{secrets.token_hex(4)}:*?[x]:"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RedisProcess]]:
    """A Redis Cluster of three masters and no replicas, started for this test session."""
    nodes = start_cluster(tmp_path_factory.mktemp("redis-cluster"))
    yield nodes
    for node in nodes:
        node.stop()


@pytest.fixture(scope="session")
def cluster_url(cluster: list[RedisProcess]) -> str:
    """The cluster's URL, naming two of its three nodes as seeds."""
    return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in cluster[:2])


def clean_cluster(cluster: list[RedisProcess], prefix: str) -> None:
    for node in cluster:
        with node.client() as client:
            delete_prefix(client, prefix)


@pytest.fixture
def make_store(redis_url: str, prefix: str) -> Iterator[Callable[..., RedisStore]]:
    """Build stores on the shared server under the test's prefix; its keys go afterwards."""

    def make(**options: object) -> RedisStore:
        return RedisStore(redis_url, prefix=prefix, **options)  # type: ignore[arg-type]

    yield make
    with redis.Redis.from_url(redis_url) as client:
        delete_prefix(client, prefix)


@pytest.fixture
def make_cluster_store(
    cluster: list[RedisProcess], cluster_url: str, prefix: str
) -> Iterator[Callable[..., RedisStore]]:
    """Build stores on the cluster under the test's prefix; its keys go afterwards."""

    def make(**options: object) -> RedisStore:
        return RedisStore(cluster_url, prefix=prefix, **options)  # type: ignore[arg-type]

    yield make
    clean_cluster(cluster, prefix)


@pytest.fixture(params=["standalone", "cluster"])
def any_store(request: pytest.FixtureRequest) -> Callable[..., RedisStore]:
    """Both deployments, one after the other."""
    name = "make_store" if request.param == "standalone" else "make_cluster_store"
    factory: Callable[..., RedisStore] = request.getfixturevalue(name)
    return factory
