"""Fixtures for the command line and demo tests: SQLite files in tmp_path, seeded sessions."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, MutableMapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sessionup.core import Agent, Session, open_store
from sessionup.core.asgi import ASGIApp
from sessionup.core.demo import UserStore, create_app

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


# The demo ------------------------------------------------------------------------------------

CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


@asynccontextmanager
async def running_lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Drive an ASGI app's lifespan around a block, as a server would."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: MutableMapping[str, Any]) -> None:
        await outbox.put(dict(message))

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, receive, send))
    await inbox.put({"type": "lifespan.startup"})
    started = await asyncio.wait_for(outbox.get(), 10)
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        stopped = await asyncio.wait_for(outbox.get(), 10)
        assert stopped["type"] == "lifespan.shutdown.complete", stopped
        await asyncio.wait_for(task, 10)


@pytest.fixture
def run_lifespan() -> Callable[[ASGIApp], AbstractAsyncContextManager[None]]:
    """:func:`running_lifespan`, for tests that build their own app."""
    return running_lifespan


@pytest.fixture
async def demo_app(tmp_path: Path) -> AsyncIterator[ASGIApp]:
    """The demo app on a SQLite file in tmp_path, its lifespan running."""
    # A cheap scrypt keeps the many sign-ins fast; the default cost has a test of its own.
    users = UserStore(str(tmp_path / "demo-users.db"), n=2**10, p=1)
    app = create_app(f"sqlite:///{tmp_path / 'demo.db'}", users=users)
    async with running_lifespan(app):
        yield app


DeviceFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
def device(demo_app: ASGIApp, client_for: Any) -> DeviceFactory:
    """Build httpx clients over the demo, each a separate device with its own cookies."""

    def make(*, ip: str = "198.51.100.20", agent: str = CHROME_LINUX) -> httpx.AsyncClient:
        client: httpx.AsyncClient = client_for(demo_app, ip=ip, agent=agent)
        return client

    return make


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class DemoServer:
    """A ``sessionup demo`` process: where it listens and where its output goes."""

    url: str
    log: Path
    db: Path


@pytest.fixture
def demo_server(tmp_path: Path, sessionup_script: str) -> Iterator[DemoServer]:
    """``sessionup demo`` in a subprocess on a free port, with a SQLite file in tmp_path."""
    port = free_port()
    db = tmp_path / "demo.db"
    log = tmp_path / "demo.log"
    env = dict(os.environ)
    env.pop("SESSIONUP_STORE_URL", None)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sessionup_script, "demo", "--store", f"sqlite:///{db}", "--port", str(port)],
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        _wait_for_port(port, process, log)
        yield DemoServer(f"http://127.0.0.1:{port}", log, db)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"sessionup demo exited with {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"sessionup demo did not listen on port {port} within 30 s:\n{log.read_text()}")
