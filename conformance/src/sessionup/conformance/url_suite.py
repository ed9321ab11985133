"""The suite against ``open_store(URL)``, URL from ``--sessionup-store``.

Collected only through the plugin, when pytest is pointed at this package. Every test
removes the sessions it created, so the URL may name a shared backend; a dedicated database
or key prefix is still the safer choice.
"""

from __future__ import annotations

import pytest

from sessionup.core.plugins import open_store

from ._support import StoreFactory
from .contract import StoreContractTests
from .plugin import dead_store_url, store_url


class TestStoreContract(StoreContractTests):
    """The store contract against the store the command line names."""

    @pytest.fixture
    def store_factory(self, request: pytest.FixtureRequest) -> StoreFactory:
        url = store_url(request.config)
        if url is None:
            raise pytest.UsageError("--sessionup-store URL is required")
        return lambda: open_store(url)

    @pytest.fixture
    def dead_store_factory(self, request: pytest.FixtureRequest) -> StoreFactory | None:
        url = dead_store_url(request.config)
        if url is None:
            return None
        return lambda: open_store(url)
