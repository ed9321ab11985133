"""The store as users reach it: by URL, through the ``sessionup`` entry point.

These run the conformance suite the other way in, ``pytest --pyargs sessionup.conformance``
and the ``sessionup conformance`` command, in a fresh process that knows the store only by
its installed entry point.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sessionup_jsonfile import JSONFileStore

from sessionup.core import available_stores, open_store


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=240, check=False)


def test_the_scheme_is_registered_by_this_distribution() -> None:
    found = [s for s in available_stores() if s.scheme == "jsonfile"]

    assert [s.distribution for s in found] == ["sessionup-store-jsonfile"]
    assert found[0].version == "0.1.0"


def test_open_store_builds_the_store_from_a_url(tmp_path: Path) -> None:
    store = open_store(f"jsonfile://{tmp_path}/s.json?fsync=false&lock_timeout=2")

    assert isinstance(store, JSONFileStore)
    assert store.path == tmp_path / "s.json"


def test_pytest_pyargs_runs_the_suite_against_a_jsonfile_url(tmp_path: Path) -> None:
    url = f"jsonfile://{tmp_path}/sessions.json"
    dead = f"jsonfile://{tmp_path}/no-such-folder/sessions.json"

    result = _run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
         "-o", "asyncio_default_fixture_loop_scope=function",
         "--pyargs", "sessionup.conformance",
         "--sessionup-store", url, "--sessionup-dead-store", dead],
        cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "73 passed" in result.stdout, result.stdout


def test_the_sessionup_conformance_command_runs_the_suite(tmp_path: Path) -> None:
    url = f"jsonfile://{tmp_path}/sessions.json?fsync=false"
    code = "import sys; from sessionup.core.cli import main; sys.exit(main(sys.argv[1:]))"

    result = _run([sys.executable, "-c", code, "conformance", url, "-q", "-k", "touch"], tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout, result.stdout
