"""MongoDB store for sessionup, on pymongo's native asyncio client.

``from sessionup.stores.mongo import MongoStore`` imports pymongo; the package itself does
not, so the plugin module beside it stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import MongoStore

__all__ = ["MongoStore"]


def __getattr__(name: str) -> Any:
    if name == "MongoStore":
        from .store import MongoStore

        return MongoStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
