"""SQLite store for sessionup: sessions in one file, shared by every process that opens it.

>>> from sessionup.core import open_store
>>> type(open_store("sqlite:///:memory:")).__name__
'SQLiteStore'
"""

from __future__ import annotations

from .schema import LAYOUT_VERSION, LayoutVersionError
from .store import PURGE_BATCH, SQLiteStore

__version__ = "0.1.0"

__all__ = ["LAYOUT_VERSION", "PURGE_BATCH", "LayoutVersionError", "SQLiteStore", "__version__"]
