"""``sqlite://`` URLs and options, and the plugin that registers the scheme."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from sessionup.core import ConfigError, StoreURLError, available_stores, open_store
from sessionup.stores.sqlite import SQLiteStore


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///relative.db", "relative.db"),
        ("sqlite:///dir/relative.db", "dir/relative.db"),
        ("sqlite:////abs/path.db", "/abs/path.db"),
        ("sqlite:///:memory:", ":memory:"),
        ("SQLITE:///x.db", "x.db"),
        ("sqlite:///my%20sessions%23.db", "my sessions#.db"),
    ],
)
def test_url_forms_name_the_database(url: str, path: str):
    store = open_store(url)

    assert isinstance(store, SQLiteStore)
    assert store.path == path


def test_options_come_from_the_query_string_with_their_types():
    store = SQLiteStore.from_url(
        "sqlite:///x.db?busy_timeout=0.25&timeout=3&synchronous=FULL&table=web_sessions"
    )

    assert store._busy_timeout == 0.25
    assert store._timeout == 3.0
    assert store._synchronous == "FULL"
    assert store.table == "web_sessions"


def test_options_may_be_keyword_arguments():
    store = open_store("sqlite:///x.db", busy_timeout=timedelta(seconds=1), table="t")

    assert isinstance(store, SQLiteStore)
    assert store.table == "t"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///x.db?busy=1", "unknown option 'busy'"),
        ("sqlite:///x.db?busy_timeout=soon", "busy_timeout"),
        ("sqlite:///x.db?timeout=1&timeout=2", "twice"),
        ("sqlite://host/x.db", "no host"),
        ("sqlite://:memory:", "no host"),
        ("sqlite://", "names no database"),
        ("sqlite:///", "names no database"),
        ("sqlite:///x.db#frag", "fragment"),
    ],
)
def test_a_bad_url_is_a_clear_error(url: str, message: str):
    with pytest.raises(StoreURLError, match=message):
        open_store(url)


def test_an_option_in_both_places_is_an_error():
    with pytest.raises(StoreURLError, match="both"):
        open_store("sqlite:///x.db?table=a", table="b")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"synchronous": "sometimes"}, "synchronous"),
        ({"table": "bad name"}, "table"),
        ({"table": "x; DROP TABLE y"}, "table"),
        ({"table": "sqlite_master"}, "reserved"),
        ({"table": "sessionup_layout"}, "reserved"),
        ({"timeout": timedelta(0)}, "timeout"),
        ({"busy_timeout": timedelta(seconds=-1)}, "busy_timeout"),
    ],
)
def test_a_bad_option_value_is_a_config_error(options: dict[str, object], message: str):
    with pytest.raises(ConfigError, match=message):
        SQLiteStore("x.db", **options)  # type: ignore[arg-type]


def test_an_empty_path_is_a_config_error():
    with pytest.raises(ConfigError, match="path"):
        SQLiteStore("")


def test_the_scheme_is_listed_with_its_distribution():
    [info] = [s for s in available_stores() if s.scheme == "sqlite"]

    assert info.distribution == "sessionup-store-sqlite"
    assert info.version == "0.1.0"


def test_the_plugin_module_imports_no_driver(tmp_path: Path):
    code = (
        "import sys, sessionup.stores.sqlite.plugin as p\n"
        "p.sessionup_store_schemes()\n"
        "print('aiosqlite' in sys.modules, 'sqlite3' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )

    assert result.stdout.split() == ["False", "False"]


async def test_a_relative_url_opens_a_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)

    async with open_store("sqlite:///relative.db?busy_timeout=1"):
        pass

    assert (tmp_path / "relative.db").is_file()


async def test_an_absolute_url_opens_that_file(tmp_path: Path):
    path = tmp_path / "absolute.db"

    async with open_store(f"sqlite:///{path}"):
        pass

    assert path.is_file()
