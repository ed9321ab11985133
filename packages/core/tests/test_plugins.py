"""Plugin discovery through real entry points of throwaway distributions, and lifecycle hooks.

Each throwaway distribution is a real ``.dist-info`` folder on ``sys.path`` of a fresh
interpreter, so ``importlib.metadata`` and pluggy find it exactly as they find an installed
package.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sessionup.core import Manager, StoreNotFoundError, hookimpl, open_store, plugins
from sessionup.core.session import Session
from sessionup.stores.memory import MemoryStore

PLUGIN = """
from sessionup.core import StoreSpec, hookimpl

@hookimpl
def sessionup_store_schemes():
    return [StoreSpec(schemes=("toy",), factory="{module}.driver:ToyStore.from_url",
                      description="a toy")]
"""

DRIVER = """
import {module}._heavy  # stands for a database driver: must load only when a store opens
from sessionup.stores.memory import MemoryStore

class ToyStore(MemoryStore):
    @classmethod
    def from_url(cls, url, **options):
        store = cls()
        store.url = url
        store.options = options
        return store
"""


def make_distribution(root: Path, name: str, module: str) -> None:
    package = root / module
    package.mkdir()
    (package / "__init__.py").write_text(PLUGIN.format(module=module))
    (package / "driver.py").write_text(DRIVER.format(module=module))
    (package / "_heavy.py").write_text("")
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[sessionup]\n{module} = {module}\n")


def run(root: Path, code: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter with ``root`` on its path; it prints JSON."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_distributions_entry_point_registers_its_scheme(tmp_path: Path) -> None:
    make_distribution(tmp_path, "throwaway-store", "throwaway_store")

    found = run(
        tmp_path,
        """
        import json, sys
        from sessionup.core import available_stores, open_store
        listed = [(s.scheme, s.distribution, s.version) for s in available_stores()]
        heavy_before = "throwaway_store._heavy" in sys.modules
        store = open_store("toy://somewhere/db?size=3", extra=True)
        print(json.dumps({
            "listed": listed, "type": type(store).__name__, "url": store.url,
            "options": store.options, "heavy_before": heavy_before,
            "heavy_after": "throwaway_store._heavy" in sys.modules,
        }))
        """,
    )

    assert ["toy", "throwaway-store", "1.0"] in found["listed"]
    assert ["memory", "sessionup", "0.1.0"] in found["listed"]
    assert found["type"] == "ToyStore"
    assert found["url"] == "toy://somewhere/db?size=3"
    assert found["options"] == {"extra": True}
    assert found["heavy_before"] is False, "a plugin's driver must load only on open"
    assert found["heavy_after"] is True


def test_two_distributions_claiming_one_scheme_is_an_error_naming_both(tmp_path: Path) -> None:
    make_distribution(tmp_path, "first-toy", "first_toy")
    make_distribution(tmp_path, "second-toy", "second_toy")

    found = run(
        tmp_path,
        """
        import json
        from sessionup.core import StoreConflictError, open_store
        try:
            open_store("toy://x")
        except StoreConflictError as exc:
            print(json.dumps({"error": str(exc), "claimants": sorted(exc.claimants)}))
        """,
    )

    assert found["claimants"] == ["first-toy", "second-toy"]
    assert "toy" in found["error"]


def test_importing_core_and_opening_memory_imports_no_store_driver(tmp_path: Path) -> None:
    found = run(
        tmp_path,
        """
        import asyncio, json, sys
        import sessionup.core
        from sessionup.core import open_store
        async def use():
            async with open_store("memory://") as store:
                await store.fetch_by_id("x")
        asyncio.run(use())
        drivers = ("redis", "psycopg", "psycopg_pool", "pymongo", "aiosqlite", "sqlite3")
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in drivers)))
        """,
    )

    assert found == []


def test_unknown_scheme_names_installed_schemes_and_the_install_command() -> None:
    with pytest.raises(StoreNotFoundError) as raised:
        open_store("redis://localhost:6379/0")
    with pytest.raises(StoreNotFoundError) as unknown:
        open_store("carrier-pigeon://coop")

    if raised.value.scheme == "redis":
        assert 'pip install "sessionup[redis]"' in str(raised.value)
    assert "memory" in unknown.value.installed
    assert "carrier-pigeon" in str(unknown.value) and "install it" not in str(unknown.value)


def test_a_url_without_a_scheme_is_a_clear_error() -> None:
    from sessionup.core import StoreURLError

    with pytest.raises(StoreURLError, match="scheme://"):
        open_store("localhost:6379")


class Recorder:
    """A lifecycle plugin, as an audit log would be written."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    @hookimpl
    def sessionup_session_created(self, session: Session) -> None:
        self.events.append(("created", session.user_key))

    @hookimpl
    def sessionup_session_revoked(self, user_key: str | None, count: int, reason: str) -> None:
        self.events.append(("revoked", (user_key, count, reason)))

    @hookimpl
    def sessionup_session_rejected(self, reason: str, scope: Any) -> None:
        self.events.append(("rejected", reason))


async def test_lifecycle_hooks_see_created_revoked_and_rejected() -> None:
    recorder = Recorder()
    plugins.register(recorder)
    try:
        manager = Manager(MemoryStore(), expires_in=timedelta(hours=1))
        await manager.issue("alice")
        await manager.authenticate("A" * 43)
        await manager.authenticate("bad!")
        await manager.revoke_by_user_key("alice")
    finally:
        plugins.unregister(recorder)
    await manager.issue("bob")

    assert recorder.events == [
        ("created", "alice"),
        ("rejected", "unknown"),
        ("rejected", "malformed"),
        ("revoked", ("alice", 1, "revoke_by_user_key")),
    ]
    assert plugins.lifecycle_hooks() is None, "with no observer the hot path calls no hook"
