"""Two real OS processes on one database file see each other's writes at once."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sessionup.core import DuplicateIDError, Session
from sessionup.stores.sqlite import SQLiteStore

PEER = Path(__file__).with_name("peer.py")

MakeSession = Callable[..., Session]


class Peer:
    """The other process, spoken to one JSON line at a time."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def ask(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout=30)
        assert line, "the peer process exited"
        reply: dict[str, Any] = json.loads(line)
        assert "error" not in reply, reply["error"]
        return reply


@pytest.fixture
async def peer(db_path: Path) -> AsyncIterator[Peer]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PEER),
        str(db_path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    ready = await asyncio.wait_for(process.stdout.readline(), timeout=30)
    assert json.loads(ready) == {"ready": True}
    try:
        yield Peer(process)
    finally:
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_each_process_sees_the_others_sessions_at_once(
    store: SQLiteStore, peer: Peer, make_session: MakeSession
):
    await peer.ask(op="create", id="from-peer", user_key="alice")
    mine = make_session(id="from-test", user_key="alice")

    seen_here = await store.fetch_by_id("from-peer")
    await store.create(mine)
    seen_there = await peer.ask(op="fetch", id="from-test")

    assert seen_here is not None
    assert seen_here.user_key == "alice"
    assert seen_there == {"user_key": "alice"}
    assert await peer.ask(op="count", user_key="alice") == {"count": 2}


async def test_a_revocation_in_one_process_holds_in_the_other_at_once(
    store: SQLiteStore, peer: Peer, make_session: MakeSession
):
    current = make_session(id="current", user_key="alice")
    other = make_session(id="other-device", user_key="alice")
    await store.create(current)
    await store.create(other)
    assert await peer.ask(op="fetch", id="other-device") == {"user_key": "alice"}

    await store.delete_by_user_key("alice", except_ids=["current"])

    assert await peer.ask(op="fetch", id="other-device") == {"user_key": None}
    assert await peer.ask(op="fetch", id="current") == {"user_key": "alice"}
    assert await peer.ask(op="touch", id="other-device", ttl=3600) == {"live": False}

    assert await peer.ask(op="revoke", id="current") == {"deleted": True}
    assert await store.fetch_by_id("current") is None


async def test_a_touch_in_one_process_is_seen_in_the_other(store: SQLiteStore, peer: Peer):
    await peer.ask(op="create", id="short", user_key="alice", ttl=60)

    assert await peer.ask(op="touch", id="short", ttl=7200) == {"live": True}

    fetched = await store.fetch_by_id("short")
    assert fetched is not None
    assert fetched.expires_at - fetched.created_at > timedelta(hours=1)


async def test_duplicate_ids_are_caught_across_processes(
    store: SQLiteStore, peer: Peer, make_session: MakeSession
):
    await peer.ask(op="create", id="taken", user_key="alice")

    with pytest.raises(DuplicateIDError):
        await store.create(make_session(id="taken", user_key="mallory"))

    assert await peer.ask(op="fetch", id="taken") == {"user_key": "alice"}


async def test_both_processes_writing_at_once_lose_nothing(
    store: SQLiteStore, peer: Peer, make_session: MakeSession
):
    mine = [make_session(id=f"here-{i}", user_key="crowd") for i in range(300)]

    await asyncio.gather(
        peer.ask(op="create_many", prefix="there-", user_key="crowd", count=300),
        *(store.create(session) for session in mine),
    )

    assert len(await store.fetch_by_user_key("crowd")) == 600
    assert await peer.ask(op="revoke_user", user_key="crowd") == {"count": 600}
    assert await store.fetch_by_user_key("crowd") == []
