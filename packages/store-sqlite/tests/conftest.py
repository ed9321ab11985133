"""Fixtures for the SQLite store's tests: a fresh database file per test, in tmp_path."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sessionup.core import Agent, Session
from sessionup.stores.sqlite import SQLiteStore

MakeSession = Callable[..., Session]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(db_path) as opened:
        yield opened


@pytest.fixture
def make_session() -> MakeSession:
    """Build a session; keyword arguments override the defaults, ``ttl`` sets the expiry."""
    counter = iter(range(1_000_000))

    def make(
        id: str | None = None,
        user_key: str = "alice",
        ttl: timedelta = timedelta(hours=1),
        **fields: object,
    ) -> Session:
        now = datetime.now(UTC)
        values: dict[str, object] = {
            "id": id if id is not None else f"session-{next(counter)}",
            "user_key": user_key,
            "created_at": now,
            "expires_at": now + ttl,
            "ip": ipaddress.ip_address("192.0.2.7"),
            "agent": Agent(os="Linux", browser="Firefox"),
            "meta": {"device": "laptop"},
        }
        values.update(fields)
        return Session(**values)

    return make
