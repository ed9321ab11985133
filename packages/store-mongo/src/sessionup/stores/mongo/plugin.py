"""The ``mongodb://`` and ``mongodb+srv://`` schemes, registered without importing pymongo."""

from __future__ import annotations

from collections.abc import Sequence

from sessionup.core.plugins import StoreSpec, hookimpl


@hookimpl
def sessionup_store_schemes() -> Sequence[StoreSpec]:
    """Register the MongoDB store for both of MongoDB's URL schemes."""
    return [
        StoreSpec(
            schemes=("mongodb", "mongodb+srv"),
            factory="sessionup.stores.mongo.store:MongoStore.from_url",
            description="MongoDB (standalone, replica set or sharded), TTL-indexed",
        )
    ]
