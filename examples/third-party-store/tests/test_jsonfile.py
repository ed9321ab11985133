"""What the contract does not say: URL options, the file's layout, bad records, the lock."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sessionup_jsonfile import LAYOUT_VERSION, JSONFileStore

from sessionup.core import Session, StoreError, StoreURLError, open_store, session_to_record


def _session(sid: str, user_key: str = "alice") -> Session:
    now = datetime.now(UTC)
    return Session(id=sid, user_key=user_key, created_at=now, expires_at=now + timedelta(hours=1))


def test_url_options_are_typed(tmp_path: Path) -> None:
    store = JSONFileStore.from_url(f"jsonfile://{tmp_path}/s.json?fsync=no&lock_timeout=0.5")

    assert store._fsync is False
    assert store._lock_timeout == 0.5


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("jsonfile://", "needs a file path"),
        ("jsonfile:///tmp/s.json?colour=blue", "unknown option 'colour'"),
        (
            "jsonfile:///tmp/s.json?fsync=maybe",
            "option 'fsync' for jsonfile:// stores must be bool",
        ),
        ("jsonfile:///tmp/s.json?lock_timeout=0", "lock_timeout must be positive"),
    ],
)
def test_bad_urls_are_refused_naming_the_problem(url: str, message: str) -> None:
    with pytest.raises(StoreURLError, match=message):
        open_store(url)


@pytest.mark.asyncio
async def test_the_file_records_its_layout_version(tmp_path: Path) -> None:
    path = tmp_path / "s.json"

    async with JSONFileStore(path) as store:
        await store.create(_session("a"))

    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["layout"] == LAYOUT_VERSION
    assert [r["id"] for r in document["sessions"]] == ["a"]


@pytest.mark.asyncio
async def test_a_file_of_another_layout_is_an_error_not_an_empty_store(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"layout": 99, "sessions": []}), encoding="utf-8")

    store = JSONFileStore(path)
    with pytest.raises(StoreError, match="has layout 99"):
        await store.fetch_by_id("a")
    await store.close()


@pytest.mark.asyncio
async def test_an_undecodable_record_is_logged_and_treated_as_no_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "s.json"
    good = session_to_record(_session("good"))
    bad = {**session_to_record(_session("bad")), "created_at": "yesterday"}
    path.write_text(json.dumps({"layout": LAYOUT_VERSION, "sessions": [good, bad]}), "utf-8")

    async with JSONFileStore(path) as store:
        with caplog.at_level(logging.WARNING, logger="sessionup_jsonfile"):
            by_id = await store.fetch_by_id("bad")
            listed = await store.fetch_by_user_key("alice")

    assert by_id is None
    assert [s.id for s in listed] == ["good"]
    assert "undecodable session" in caplog.text
    assert "bad" not in caplog.text.replace("undecodable", "")


@pytest.mark.asyncio
async def test_a_held_lock_fails_the_write_in_bounded_time(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    store = JSONFileStore(path, lock_timeout=timedelta(milliseconds=200))
    await store.open()
    holder = os.open(f"{path}.lock", os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="stayed locked"):
            await store.create(_session("a"))
        elapsed = time.monotonic() - started
    finally:
        os.close(holder)
        await store.close()

    assert elapsed < 2


@pytest.mark.asyncio
async def test_two_instances_see_each_others_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.json"

    async with JSONFileStore(path) as first, JSONFileStore(path) as second:
        await first.create(_session("a"))
        seen = await second.fetch_by_id("a")
        await second.delete_by_id("a")
        gone = await first.fetch_by_id("a")

    assert seen is not None
    assert gone is None
