"""The sessionup plugin: registers ``jsonfile://``. Imports nothing but sessionup's hooks."""

from __future__ import annotations

from collections.abc import Sequence

from sessionup.core import StoreSpec, hookimpl


@hookimpl
def sessionup_store_schemes() -> Sequence[StoreSpec]:
    """Offer :class:`~sessionup_jsonfile.JSONFileStore` for ``jsonfile://`` URLs."""
    return [
        StoreSpec(
            schemes=("jsonfile",),
            factory="sessionup_jsonfile.store:JSONFileStore.from_url",
            description="one JSON file on a local disk (example third-party store)",
        )
    ]
