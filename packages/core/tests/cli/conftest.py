"""Fixtures for the command line and demo tests: SQLite files in tmp_path, seeded sessions."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sessionup.core import Agent, Session, open_store

Seed = Callable[..., list[Session]]


async def _create_all(url: str, sessions: Iterable[Session]) -> None:
    async with open_store(url) as store:
        for session in sessions:
            await store.create(session)


async def _live_of(url: str, user_key: str) -> list[Session]:
    async with open_store(url) as store:
        return await store.fetch_by_user_key(user_key)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A SQLite store in a fresh file; ``tmp_path`` is absolute, hence four slashes."""
    return f"sqlite:///{tmp_path / 'sessions.db'}"


@pytest.fixture
def seed(store_url: str) -> Seed:
    """Write sessions into the test's store (outside any event loop, as the CLI runs)."""

    def write(*sessions: Session) -> list[Session]:
        asyncio.run(_create_all(store_url, sessions))
        return list(sessions)

    return write


@pytest.fixture
def live_sessions(store_url: str) -> Callable[[str], list[Session]]:
    """Read a user's live sessions back from the test's store."""

    def read(user_key: str) -> list[Session]:
        return asyncio.run(_live_of(store_url, user_key))

    return read


@pytest.fixture(autouse=True)
def _no_store_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SESSIONUP_STORE_URL", raising=False)


def build_session(
    user_key: str = "alice",
    *,
    ttl: timedelta = timedelta(hours=1),
    id: str | None = None,
    ip: str | None = "192.0.2.7",
    os_name: str | None = "Linux",
    browser: str | None = "Firefox",
) -> Session:
    """A session whose id is random unless given; a negative ``ttl`` makes it expired."""
    now = datetime.now(UTC)
    return Session(
        id=id if id is not None else os.urandom(32).hex(),
        user_key=user_key,
        created_at=now - timedelta(hours=2),
        expires_at=now + ttl,
        ip=None if ip is None else ipaddress.ip_address(ip),
        agent=Agent(os=os_name, browser=browser),
    )


def _console_script() -> str:
    """The installed ``sessionup`` script of the running interpreter's environment."""
    beside = Path(sys.executable).parent / "sessionup"
    if beside.exists():
        return str(beside)
    found = shutil.which("sessionup")
    if found is None:
        pytest.fail("the sessionup console script is not installed: pip install -e packages/core")
    return found


@pytest.fixture
def make_session() -> Callable[..., Session]:
    """:func:`build_session`: a session for a user, expired when ``ttl`` is negative."""
    return build_session


@pytest.fixture
def sessionup_script() -> str:
    """The path of the installed ``sessionup`` console script."""
    return _console_script()
