"""The store contract, from sessionup-conformance, on one server and on a Redis Cluster."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from redis_servers import free_port

from sessionup.conformance import StoreContractTests, StoreFactory
from sessionup.stores.redis import RedisStore


class TestStandaloneContract(StoreContractTests):
    """The shared server, under a prefix unique to each test."""

    @pytest.fixture
    def store_factory(self, make_store: Callable[..., RedisStore]) -> StoreFactory:
        return make_store

    @pytest.fixture
    def dead_store_factory(self) -> StoreFactory | None:
        return _dead("redis")


class TestClusterContract(StoreContractTests):
    """The three-master cluster started for this test session."""

    @pytest.fixture
    def store_factory(self, make_cluster_store: Callable[..., RedisStore]) -> StoreFactory:
        return make_cluster_store

    @pytest.fixture
    def dead_store_factory(self) -> StoreFactory | None:
        return _dead("redis+cluster")


def _dead(scheme: str) -> StoreFactory:
    url = f"{scheme}://127.0.0.1:{free_port()}"
    timeout = timedelta(milliseconds=500)
    return lambda: RedisStore(url, connect_timeout=timeout, socket_timeout=timeout)
