"""PostgreSQL session store for sessionup, on psycopg 3 with a connection pool.

>>> store = PostgresStore.from_url("postgresql://app@db.example/app?sslmode=require&max_size=20")
>>> (store.schema, store.table)
('public', 'sessionup_sessions')

The store creates its table on first use, records the layout version in
``<schema>.sessionup_layout``, and migrates older layouts forward when opened.
"""

from __future__ import annotations

from ._schema import LATEST_VERSION, LAYOUT_TABLE, LayoutVersionError
from ._store import SCHEMES, PostgresStore

__all__ = ["LATEST_VERSION", "LAYOUT_TABLE", "SCHEMES", "LayoutVersionError", "PostgresStore"]
