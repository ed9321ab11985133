"""Redis and Redis Cluster store for sessionup.

>>> from sessionup.stores.redis import RedisStore
>>> RedisStore.from_url("redis://127.0.0.1:6379/0?prefix=myapp:").prefix
'myapp:'

Or through the core, by URL: ``sessionup.core.open_store("redis+cluster://host:7000")``.
"""

from __future__ import annotations

from ._keys import LAYOUT_VERSION
from ._store import RedisStore

__all__ = ["LAYOUT_VERSION", "RedisStore"]
