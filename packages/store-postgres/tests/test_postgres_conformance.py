"""The store contract, from sessionup-conformance, against the server the tests use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from postgres_cluster import free_port

from sessionup.conformance import StoreContractTests, StoreFactory
from sessionup.stores.postgres import PostgresStore


class TestPostgresContract(StoreContractTests):
    """Each test in a schema of its own, dropped with all it holds afterwards."""

    @pytest.fixture
    def store_factory(self, postgres_url: str, schema: str) -> StoreFactory:
        return lambda: PostgresStore.from_url(postgres_url, schema=schema, max_size=4)

    @pytest.fixture
    def dead_store_factory(self) -> StoreFactory | None:
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
        return lambda: PostgresStore.from_url(url, connect_timeout=timedelta(seconds=1))
