"""PostgreSQL session store for sessionup, on psycopg 3 with a connection pool.

>>> store = PostgresStore.from_url("postgresql://app@db.example/app?sslmode=require&max_size=20")
>>> (store.schema, store.table)
('public', 'sessionup_sessions')

The store creates its table on first use, records the layout version in
``<schema>.sessionup_layout``, and migrates older layouts forward when opened.

The names below load psycopg on first access, so that the plugin module next to this
one can be imported without the driver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._schema import LATEST_VERSION, LAYOUT_TABLE, LayoutVersionError
    from ._store import SCHEMES, PostgresStore

__all__ = ["LATEST_VERSION", "LAYOUT_TABLE", "SCHEMES", "LayoutVersionError", "PostgresStore"]

_HOMES = {
    "LATEST_VERSION": "._schema",
    "LAYOUT_TABLE": "._schema",
    "LayoutVersionError": "._schema",
    "SCHEMES": "._store",
    "PostgresStore": "._store",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
