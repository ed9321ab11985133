"""SQLite store for sessionup: sessions in one file, shared by every process that opens it.

The names below load on first use, so that the plugin module (imported whenever sessionup
looks for stores) pulls in neither aiosqlite nor sqlite3.

>>> from sessionup.core import open_store
>>> type(open_store("sqlite:///:memory:")).__name__
'SQLiteStore'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from .schema import LAYOUT_VERSION, LayoutVersionError
    from .store import PURGE_BATCH, SQLiteStore

__version__ = "0.1.0"

__all__ = ["LAYOUT_VERSION", "PURGE_BATCH", "LayoutVersionError", "SQLiteStore", "__version__"]

_HOMES: Final = {
    "LAYOUT_VERSION": "schema",
    "LayoutVersionError": "schema",
    "PURGE_BATCH": "store",
    "SQLiteStore": "store",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
