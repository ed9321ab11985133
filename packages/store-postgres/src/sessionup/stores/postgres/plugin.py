"""The sessionup plugin for ``postgresql://`` and ``postgres://`` URLs.

Imports no driver: psycopg is loaded only when a store of these schemes is opened.
"""

from __future__ import annotations

from collections.abc import Sequence

from sessionup.core.plugins import StoreSpec, hookimpl


@hookimpl
def sessionup_store_schemes() -> Sequence[StoreSpec]:
    """Register ``postgresql://`` and ``postgres://``."""
    return [
        StoreSpec(
            schemes=("postgresql", "postgres"),
            factory="sessionup.stores.postgres:PostgresStore.from_url",
            description="PostgreSQL table over a psycopg 3 pool; durable, shared by processes",
        )
    ]
