"""The store contract, from sessionup-conformance, against the server the tests use."""

from __future__ import annotations

import socket

import pytest

from sessionup.conformance import StoreContractTests, StoreFactory
from sessionup.stores.mongo import MongoStore


class TestMongoContract(StoreContractTests):
    """A collection of this test alone, in this run's database (both dropped afterwards)."""

    @pytest.fixture
    def store_factory(self, store_url: str) -> StoreFactory:
        return lambda: MongoStore.from_url(store_url)

    @pytest.fixture
    def dead_store_factory(self) -> StoreFactory | None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        url = f"mongodb://127.0.0.1:{port}/dead?serverSelectionTimeoutMS=500&timeoutMS=1000"
        return lambda: MongoStore.from_url(url)
