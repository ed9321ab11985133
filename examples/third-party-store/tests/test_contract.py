"""The sessionup store contract, run by subclassing the conformance suite's test class."""

from __future__ import annotations

from pathlib import Path

import pytest
from sessionup_jsonfile import JSONFileStore

from sessionup.conformance import StoreContractTests, StoreFactory


class TestJSONFileStore(StoreContractTests):
    """Every instance the factory builds shares one file, so the reopen tests run too."""

    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        path = tmp_path / "sessions.json"
        return lambda: JSONFileStore(path)

    @pytest.fixture
    def dead_store_factory(self, tmp_path: Path) -> StoreFactory:
        # A file store's backend is down when its folder is gone.
        path = tmp_path / "no-such-folder" / "sessions.json"
        return lambda: JSONFileStore(path)
