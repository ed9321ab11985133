"""The sessionup plugin for ``sqlite://`` URLs. Imports no driver: the store loads on use."""

from __future__ import annotations

from collections.abc import Sequence

from sessionup.core.plugins import StoreSpec, hookimpl

__all__ = ["sessionup_store_schemes"]


@hookimpl
def sessionup_store_schemes() -> Sequence[StoreSpec]:
    """Register ``sqlite://``."""
    return [
        StoreSpec(
            schemes=("sqlite",),
            factory="sessionup.stores.sqlite:SQLiteStore.from_url",
            description="a SQLite file shared by local processes",
        )
    ]
