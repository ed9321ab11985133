"""The sessionup plugin of the Redis store: registers its schemes, imports no driver."""

from __future__ import annotations

from collections.abc import Sequence

from sessionup.core.plugins import StoreSpec, hookimpl


@hookimpl
def sessionup_store_schemes() -> Sequence[StoreSpec]:
    """Register ``redis``, ``rediss``, ``unix``, ``redis+cluster`` and ``rediss+cluster``."""
    return [
        StoreSpec(
            schemes=("redis", "rediss", "unix"),
            factory="sessionup.stores.redis:RedisStore.from_url",
            description="one Redis server; records expire natively",
        ),
        StoreSpec(
            schemes=("redis+cluster", "rediss+cluster"),
            factory="sessionup.stores.redis:RedisStore.from_url",
            description="Redis Cluster, from seeds host:port,...",
        ),
    ]
