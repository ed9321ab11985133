"""The recorded layout version: created once, checked on open, upgraded through the hook."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from sessionup.core import StoreError
from sessionup.stores.sqlite import LAYOUT_VERSION, LayoutVersionError, SQLiteStore, schema


def layout_rows(db_path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT store_table, version FROM sessionup_layout").fetchall()


def set_version(db_path: Path, version: object) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE sessionup_layout SET version = ?", (version,))


async def test_the_first_open_records_the_layout_version(db_path: Path):
    async with SQLiteStore(db_path):
        pass

    assert layout_rows(db_path) == [("sessionup_sessions", LAYOUT_VERSION)]


async def test_stores_opening_a_new_file_at_once_create_it_once(db_path: Path):
    stores = [SQLiteStore(db_path) for _ in range(8)]

    await asyncio.gather(*(store.open() for store in stores))
    await asyncio.gather(*(store.close() for store in stores))

    assert layout_rows(db_path) == [("sessionup_sessions", LAYOUT_VERSION)]


async def test_a_newer_layout_is_refused_with_a_clear_error(db_path: Path):
    async with SQLiteStore(db_path):
        pass
    set_version(db_path, LAYOUT_VERSION + 1)
    store = SQLiteStore(db_path)

    with pytest.raises(LayoutVersionError, match="upgrade sessionup-store-sqlite") as caught:
        await store.open()

    assert caught.value.found == LAYOUT_VERSION + 1
    assert caught.value.supported == LAYOUT_VERSION
    assert isinstance(caught.value, StoreError)
    await store.close()


async def test_an_unreadable_layout_version_is_refused(db_path: Path):
    async with SQLiteStore(db_path):
        pass
    set_version(db_path, "one")

    with pytest.raises(LayoutVersionError, match="unreadable"):
        await SQLiteStore(db_path).open()


async def test_an_older_layout_is_upgraded_through_the_migration_hook(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
):
    async with SQLiteStore(db_path):
        pass
    monkeypatch.setattr(schema, "LAYOUT_VERSION", LAYOUT_VERSION + 1)
    monkeypatch.setitem(
        schema.MIGRATIONS,
        LAYOUT_VERSION,
        lambda table: [schema.for_table("ALTER TABLE {t} ADD COLUMN extra TEXT", table)],
    )

    async with SQLiteStore(db_path):
        pass

    assert layout_rows(db_path) == [("sessionup_sessions", LAYOUT_VERSION + 1)]
    with sqlite3.connect(db_path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(sessionup_sessions)")]
    assert "extra" in columns


async def test_an_older_layout_without_an_upgrade_path_is_refused_and_left_as_it_was(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
):
    async with SQLiteStore(db_path):
        pass
    monkeypatch.setattr(schema, "LAYOUT_VERSION", LAYOUT_VERSION + 1)

    with pytest.raises(LayoutVersionError, match="no upgrade"):
        await SQLiteStore(db_path).open()

    assert layout_rows(db_path) == [("sessionup_sessions", LAYOUT_VERSION)]


async def test_a_table_sessionup_did_not_create_is_left_alone(db_path: Path):
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE sessionup_sessions (anything TEXT)")

    with pytest.raises(LayoutVersionError, match="no sessionup layout record"):
        await SQLiteStore(db_path).open()

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall() == []
