"""The store contract, from sessionup-conformance, on a database file and on ``:memory:``."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionup.conformance import StoreContractTests, StoreFactory
from sessionup.stores.sqlite import SQLiteStore


class TestFileContract(StoreContractTests):
    """A database file in the test's tmp_path, shared by every instance the suite builds."""

    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        path = tmp_path / "contract.db"
        return lambda: SQLiteStore(path)

    @pytest.fixture
    def dead_store_factory(self, tmp_path: Path) -> StoreFactory | None:
        # A file in a folder that does not exist cannot be opened: every call must fail.
        path = tmp_path / "no-such-folder" / "contract.db"
        return lambda: SQLiteStore(path)


class TestMemoryContract(StoreContractTests):
    """``:memory:``: each instance is a new, empty database, so it declares persistent=False."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return lambda: SQLiteStore(":memory:")
