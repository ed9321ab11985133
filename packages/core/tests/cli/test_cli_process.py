"""The installed ``sessionup`` console script, run as a real process."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sessionup.core import Session

Seed = Callable[..., list[Session]]
Make = Callable[..., Session]


def env_without_store_url() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SESSIONUP_STORE_URL", None)
    return env


def test_console_script_lists_sessions_and_exits_0(
    sessionup_script: str, store_url: str, seed: Seed, make_session: Make
) -> None:
    (session,) = seed(make_session("alice"))

    done = subprocess.run(
        [sessionup_script, "sessions", store_url, "--user", "alice", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_without_store_url(),
    )

    assert done.returncode == 0, done.stderr
    assert [s["id"] for s in json.loads(done.stdout)] == [session.id]


def test_console_script_exit_codes(sessionup_script: str, tmp_path: Path) -> None:
    env = env_without_store_url()

    def status(*argv: str) -> tuple[int, str]:
        done = subprocess.run(
            [sessionup_script, *argv], capture_output=True, text=True, timeout=60, env=env
        )
        return done.returncode, done.stderr

    missing_folder = f"sqlite:///{tmp_path / 'missing' / 's.db'}"
    assert status("check", "memory://")[0] == 0
    assert status("check", missing_folder)[0] == 1
    code, err = status("check", "nosuch://x")
    assert code == 2
    assert err.count("\n") == 1
    assert status("sessions", "memory://")[0] == 2
    assert status("bogus-command")[0] == 2


def test_purge_draws_progress_on_a_real_terminal_only(
    sessionup_script: str, store_url: str, seed: Seed, make_session: Make
) -> None:
    seed(*(make_session(f"u{i}", ttl=-timedelta(seconds=1)) for i in range(300)))
    controller, terminal = pty.openpty()

    try:
        done = subprocess.run(
            [sessionup_script, "purge", store_url, "--batch", "100"],
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=60,
            env=env_without_store_url(),
        )
        os.close(terminal)
        drawn = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(controller)

    assert done.returncode == 0
    assert b"\rpurging: 100 expired sessions deleted" in drawn
    assert drawn.endswith(b"\r\x1b[K")
    assert done.stdout.decode().startswith("deleted 300 expired sessions in 4 batches")


def test_the_cli_imports_no_web_framework_until_demo_runs() -> None:
    code = (
        "import sys\n"
        "from sessionup.core import cli\n"
        "assert cli.main(['stores', '--json']) == 0\n"
        "assert cli.main(['check', 'memory://']) == 0\n"
        "loaded = sorted(m for m in ('starlette', 'uvicorn', 'sessionup.core.demo',"
        " 'sessionup.conformance', 'pytest') if m in sys.modules)\n"
        "print('LOADED', loaded)\n"
    )

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout


def test_conformance_command_runs_the_suite_on_sqlite(
    sessionup_script: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'conformance.db'}"

    done = subprocess.run(
        [sessionup_script, "conformance", url, "-q"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env_without_store_url(),
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
    assert " failed" not in done.stdout


def test_conformance_passes_arguments_after_a_double_dash(
    sessionup_script: str, tmp_path: Path
) -> None:
    env = env_without_store_url()
    env["SESSIONUP_STORE_URL"] = f"sqlite:///{tmp_path / 'conformance.db'}"

    done = subprocess.run(
        [sessionup_script, "conformance", "--", "--collect-only", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )

    assert done.returncode == 0, done.stderr
    assert "tests collected" in done.stdout
