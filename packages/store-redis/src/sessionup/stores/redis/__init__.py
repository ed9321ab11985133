"""Redis and Redis Cluster store for sessionup.

>>> from sessionup.stores.redis import RedisStore
>>> RedisStore.from_url("redis://127.0.0.1:6379/0?prefix=myapp:").prefix
'myapp:'

Or through the core, by URL: ``sessionup.core.open_store("redis+cluster://host:7000")``.
The driver is imported on first use of :class:`RedisStore`, so that the plugin module,
which lives in this package, stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._keys import LAYOUT_VERSION

if TYPE_CHECKING:
    from ._store import RedisStore

__all__ = ["LAYOUT_VERSION", "RedisStore"]


def __getattr__(name: str) -> Any:
    if name == "RedisStore":
        from ._store import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
