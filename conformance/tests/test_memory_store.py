"""The core's memory store passes the whole contract, subclassed the way a store author would."""

from __future__ import annotations

import pytest

from sessionup.conformance import StoreContractTests, StoreFactory
from sessionup.stores.memory import MemoryStore


class TestMemoryStore(StoreContractTests):
    """Every instance is its own empty store: nothing is shared, nothing persists."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return MemoryStore
