"""The ``sessionup`` command, run in-process on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sessionup.core import Session, available_stores, cli
from sessionup.core.plugins import first_party_schemes

Capture = pytest.CaptureFixture[str]
LiveSessions = Callable[[str], list[Session]]
Make = Callable[..., Session]
Seed = Callable[..., list[Session]]


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def session_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM sessionup_sessions").fetchone()
    return int(count)


# stores -----------------------------------------------------------------------------------


def test_stores_lists_each_scheme_with_its_distribution(capsys: Capture) -> None:
    status, out, _ = run(capsys, "stores")

    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["SCHEME", "DISTRIBUTION", "VERSION", "DESCRIPTION"]
    sqlite_line = next(line for line in lines if line.startswith("sqlite "))
    assert "sessionup-store-sqlite" in sqlite_line
    assert "0.1.0" in sqlite_line
    assert any(line.startswith("memory ") for line in lines)


def test_stores_json_matches_available_stores(capsys: Capture) -> None:
    status, out, _ = run(capsys, "stores", "--json")

    assert status == 0
    listed = json.loads(out)
    assert [entry["scheme"] for entry in listed] == [s.scheme for s in available_stores()]
    sqlite_entry = next(entry for entry in listed if entry["scheme"] == "sqlite")
    assert sqlite_entry["distribution"] == "sessionup-store-sqlite"
    assert sqlite_entry["factory"] == "sessionup.stores.sqlite:SQLiteStore.from_url"


def test_stores_names_the_install_command_of_missing_first_party_stores(capsys: Capture) -> None:
    installed = {s.scheme for s in available_stores()}
    ours = first_party_schemes().items()
    missing = sorted({extra for scheme, extra in ours if scheme not in installed})
    if not missing:
        pytest.skip("every first-party store is installed here")

    _, out, _ = run(capsys, "stores")

    for extra in missing:
        assert f'pip install "sessionup[{extra}]"' in out


# check ------------------------------------------------------------------------------------


def test_check_times_a_round_trip_and_leaves_nothing_behind(
    capsys: Capture, store_url: str, tmp_path: Path
) -> None:
    status, out, err = run(capsys, "check", store_url)

    assert status == 0, err
    assert "ok: create, fetch and delete of a probe session took" in out
    for step in ("open", "create", "fetch", "delete"):
        assert any(line.startswith(step) and line.endswith(" ms") for line in out.splitlines())
    assert "sessionup-store-sqlite 0.1.0" in out
    assert session_rows(tmp_path / "sessions.db") == 0


def test_check_json_carries_every_timing(capsys: Capture, store_url: str) -> None:
    status, out, _ = run(capsys, "check", "--json", store_url)

    assert status == 0
    report = json.loads(out)
    assert report["ok"] is True
    assert report["error"] is None
    assert report["scheme"] == "sqlite"
    timings = report["timings_ms"]
    assert set(timings) == {"open", "create", "fetch", "delete", "round_trip"}
    assert all(isinstance(value, float) and value >= 0 for value in timings.values())
    assert timings["round_trip"] == pytest.approx(
        timings["create"] + timings["fetch"] + timings["delete"], abs=0.01
    )


def test_check_of_an_unreachable_store_exits_1_with_one_line(
    capsys: Capture, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'sessions.db'}"

    status, _, err = run(capsys, "check", url)

    assert status == 1
    assert err.count("\n") == 1
    assert err.startswith("sessionup check: store error: ")
    assert "no-such-folder" in err
    assert not (tmp_path / "no-such-folder").exists()


def test_check_json_reports_the_failure_too(capsys: Capture, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'sessions.db'}"

    status, out, _ = run(capsys, "check", "--json", url)

    assert status == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["error"].startswith("store error: ")
    assert report["timings_ms"]["round_trip"] is None


def test_check_never_prints_a_password_from_the_url(capsys: Capture) -> None:
    url = "sqlite:///:memory:?password=hunter2"

    _, out, err = run(capsys, "check", url)

    assert "hunter2" not in out + err


# sessions -----------------------------------------------------------------------------------


def test_sessions_lists_only_the_users_live_sessions(
    capsys: Capture, store_url: str, seed: Seed, make_session: Make
) -> None:
    mine = seed(
        make_session("alice", ip="192.0.2.7", os_name="Linux", browser="Firefox"),
        make_session("alice", ip="2001:db8::5", os_name="iOS", browser="Mobile Safari"),
    )
    seed(make_session("alice", ttl=-timedelta(minutes=1)), make_session("bob"))

    status, out, _ = run(capsys, "sessions", store_url, "--user", "alice")

    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "CREATED", "(UTC)", "EXPIRES", "(UTC)", "IP", "OS", "BROWSER"]
    rows = lines[1:3]
    for session in mine:
        row = next(r for r in rows if r.startswith(session.id[: cli.SHORT_ID] + "…"))
        assert str(session.ip) in row
        assert session.agent.browser is not None and session.agent.browser in row
        assert session.id not in out
    assert lines[-1] == "2 live sessions of user 'alice'"


def test_sessions_json_has_whole_ids_and_iso_times(
    capsys: Capture, store_url: str, seed: Seed, make_session: Make
) -> None:
    (session,) = seed(make_session("alice", ip=None, os_name=None))

    status, out, _ = run(capsys, "sessions", "--json", store_url, "--user", "alice")

    assert status == 0
    (listed,) = json.loads(out)
    assert listed["id"] == session.id
    assert listed["user_key"] == "alice"
    assert datetime.fromisoformat(listed["expires_at"]) == session.expires_at
    assert datetime.fromisoformat(listed["created_at"]) == session.created_at
    assert listed["ip"] is None
    assert listed["os"] is None
    assert listed["browser"] == "Firefox"


def test_sessions_of_a_user_without_any(capsys: Capture, store_url: str) -> None:
    status, out, _ = run(capsys, "sessions", store_url, "--user", "nobody")

    assert status == 0
    assert out == "user 'nobody' has no live sessions\n"
    assert run(capsys, "sessions", "--json", store_url, "--user", "nobody")[1] == "[]\n"


def test_sessions_table_fits_a_narrow_terminal(
    capsys: Capture, store_url: str, seed: Seed, make_session: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(make_session("alice", ip="2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", browser="B" * 80))
    monkeypatch.setenv("COLUMNS", "90")

    _, out, _ = run(capsys, "sessions", store_url, "--user", "alice")

    assert all(len(line) <= 90 for line in out.splitlines())
    assert "…" in out


def test_sessions_full_ids_shows_whole_ids(
    capsys: Capture, store_url: str, seed: Seed, make_session: Make
) -> None:
    (session,) = seed(make_session("alice"))

    _, out, _ = run(capsys, "sessions", store_url, "--user", "alice", "--full-ids")

    assert session.id in out


def test_sessions_escapes_terminal_control_characters_from_the_store(
    capsys: Capture, store_url: str, seed: Seed, make_session: Make
) -> None:
    seed(make_session("alice", browser="Evil\x1b]0;owned\x07", os_name="OS\u202e"))

    _, out, _ = run(capsys, "sessions", store_url, "--user", "alice")

    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\u202e" not in out
    assert "Evil\\x1b]0;owned\\x07" in out


def test_sessions_refuses_a_malformed_user_key(capsys: Capture, store_url: str) -> None:
    status, _, err = run(capsys, "sessions", store_url, "--user", "a;b")

    assert status == 2
    assert "bad --user" in err


# revoke -------------------------------------------------------------------------------------


def test_revoke_by_user_ends_all_of_that_users_sessions_only(
    capsys: Capture, store_url: str, seed: Seed, make_session: Make, live_sessions: LiveSessions
) -> None:
    seed(make_session("alice"), make_session("alice"), make_session("bob"))

    status, out, _ = run(capsys, "revoke", store_url, "--user", "alice")

    assert status == 0
    assert out == "revoked 2 sessions of user 'alice'\n"
    assert live_sessions("alice") == []
    assert len(live_sessions("bob")) == 1


def test_revoke_by_id_ends_that_session_only(
    capsys: Capture, store_url: str, seed: Seed, make_session: Make, live_sessions: LiveSessions
) -> None:
    target, kept = seed(make_session("alice"), make_session("alice"))

    status, out, _ = run(capsys, "revoke", "--json", store_url, "--id", target.id)

    assert status == 0
    assert json.loads(out) == {"revoked": 1, "id": target.id}
    assert [s.id for s in live_sessions("alice")] == [kept.id]


def test_revoke_by_an_unknown_id_says_to_give_the_full_id(
    capsys: Capture, store_url: str, seed: Seed, make_session: Make, live_sessions: LiveSessions
) -> None:
    (session,) = seed(make_session("alice"))

    status, out, _ = run(capsys, "revoke", store_url, "--id", session.id[: cli.SHORT_ID])

    assert status == 0
    assert "no live session has this id" in out
    assert "--full-ids" in out
    assert len(live_sessions("alice")) == 1


def test_revoke_json_by_user(
    capsys: Capture, store_url: str, seed: Seed, make_session: Make
) -> None:
    seed(make_session("alice"))

    _, out, _ = run(capsys, "revoke", store_url, "--user", "alice", "--json")

    assert json.loads(out) == {"revoked": 1, "user_key": "alice"}


@pytest.mark.parametrize(
    "argv",
    [
        ["revoke", "memory://"],
        ["revoke", "memory://", "--user", "a", "--id", "b"],
    ],
)
def test_revoke_needs_exactly_one_of_user_and_id(capsys: Capture, argv: list[str]) -> None:
    status, out, err = run(capsys, *argv)

    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "sessionup revoke --help" in err


def test_revoke_handles_ids_that_look_like_query_syntax(
    capsys: Capture, store_url: str, seed: Seed, make_session: Make, live_sessions: LiveSessions
) -> None:
    odd, plain = seed(make_session("alice", id="' OR 1=1--"), make_session("alice", id="*"))

    status, _, _ = run(capsys, "revoke", store_url, "--id", odd.id)

    assert status == 0
    assert [s.id for s in live_sessions("alice")] == [plain.id]


# purge --------------------------------------------------------------------------------------


def test_purge_deletes_every_expired_session_in_batches(
    capsys: Capture, store_url: str, seed: Seed, make_session: Make, live_sessions: LiveSessions
) -> None:
    seed(*(make_session(f"user-{i % 3}", ttl=-timedelta(seconds=1)) for i in range(25)))
    seed(make_session("alice"), make_session("alice"))

    status, out, err = run(capsys, "purge", store_url, "--batch", "10", "--json")

    assert status == 0
    report = json.loads(out)
    assert report["deleted"] == 25
    assert report["batches"] == 3
    assert err == ""
    assert len(live_sessions("alice")) == 2


def test_purge_draws_progress_on_a_terminal(
    capsys: Capture,
    store_url: str,
    seed: Seed,
    make_session: Make,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(*(make_session("alice", ttl=-timedelta(seconds=1)) for _ in range(5)))
    monkeypatch.setattr(cli, "_is_terminal", lambda stream: True)

    status, out, err = run(capsys, "purge", store_url, "--batch", "2")

    assert status == 0
    assert "\rpurging: 2 expired sessions deleted" in err
    assert err.endswith("\r\x1b[K")
    assert out.startswith("deleted 5 expired sessions in 3 batches")


def test_purge_is_silent_on_stderr_when_not_a_terminal(
    capsys: Capture, store_url: str, seed: Seed, make_session: Make
) -> None:
    seed(*(make_session("alice", ttl=-timedelta(seconds=1)) for _ in range(3)))

    status, out, err = run(capsys, "purge", store_url, "--batch", "2")

    assert status == 0
    assert err == ""
    assert out.startswith("deleted 3 expired sessions in 2 batches")


def test_purge_refuses_a_batch_below_one(capsys: Capture, store_url: str) -> None:
    status, _, err = run(capsys, "purge", store_url, "--batch", "0")

    assert status == 2
    assert "--batch must be at least 1" in err


# where the URL comes from -------------------------------------------------------------------


def test_url_comes_from_the_environment_when_not_given(
    capsys: Capture,
    store_url: str,
    seed: Seed,
    make_session: Make,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(make_session("alice"))
    monkeypatch.setenv("SESSIONUP_STORE_URL", store_url)

    status, out, _ = run(capsys, "sessions", "--user", "alice", "--json")

    assert status == 0
    assert len(json.loads(out)) == 1


def test_argument_and_store_option_win_over_the_environment(
    capsys: Capture,
    store_url: str,
    seed: Seed,
    make_session: Make,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    seed(make_session("alice"))
    monkeypatch.setenv("SESSIONUP_STORE_URL", f"sqlite:///{tmp_path / 'other.db'}")

    by_option = run(capsys, "sessions", "--store", store_url, "--user", "alice", "--json")
    by_argument = run(capsys, "sessions", store_url, "--user", "alice", "--json")

    assert len(json.loads(by_option[1])) == 1
    assert len(json.loads(by_argument[1])) == 1


def test_two_different_urls_are_a_usage_error(capsys: Capture, store_url: str) -> None:
    status, _, err = run(capsys, "purge", store_url, "--store", "memory://")

    assert status == 2
    assert "given twice" in err


def test_no_url_anywhere_says_where_to_give_one(capsys: Capture) -> None:
    status, out, err = run(capsys, "check")

    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "--store" in err
    assert "SESSIONUP_STORE_URL" in err


def test_unknown_scheme_lists_installed_schemes(capsys: Capture) -> None:
    status, _, err = run(capsys, "check", "nosuch://host/x")

    assert status == 2
    assert err.count("\n") == 1
    assert "'nosuch'" in err
    assert "sqlite" in err


def test_uninstalled_first_party_scheme_names_its_install_command(capsys: Capture) -> None:
    installed = {s.scheme for s in available_stores()}
    ours = first_party_schemes().items()
    missing = [(scheme, extra) for scheme, extra in ours if scheme not in installed]
    if not missing:
        pytest.skip("every first-party store is installed here")
    scheme, extra = missing[0]

    status, _, err = run(capsys, "sessions", f"{scheme}://localhost/x", "--user", "alice")

    assert status == 2
    assert f'install it with: pip install "sessionup[{extra}]"' in err


def test_unknown_store_option_is_a_usage_error(capsys: Capture, store_url: str) -> None:
    status, _, err = run(capsys, "check", store_url + "?no_such_option=1")

    assert status == 2
    assert "no_such_option" in err


# the rest -----------------------------------------------------------------------------------


def test_no_command_is_a_usage_error(capsys: Capture) -> None:
    status, _, err = run(capsys)

    assert status == 2
    assert "sessionup --help" in err


def test_version_and_help_exit_0(capsys: Capture) -> None:
    assert run(capsys, "--version") == (0, "sessionup 0.1.0\n", "")
    status, out, _ = run(capsys, "--help")
    assert status == 0
    assert "exit status:" in out


def test_double_dash_belongs_to_conformance_only(capsys: Capture, store_url: str) -> None:
    status, _, err = run(capsys, "purge", store_url, "--", "-x")

    assert status == 2
    assert "only understood by sessionup conformance" in err


def test_conformance_without_the_suite_names_the_install_command(
    capsys: Capture, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "sessionup.conformance", None)

    status, _, err = run(capsys, "conformance", store_url)

    assert status == 2
    assert 'pip install "sessionup[conformance]"' in err


def test_conformance_checks_the_url_before_running_anything(capsys: Capture) -> None:
    status, _, err = run(capsys, "conformance", "nosuch://x", "-x")

    assert status == 2
    assert "'nosuch'" in err


def test_demo_without_its_extra_names_the_install_command(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_module_exists", lambda name: name != "uvicorn")

    status, _, err = run(capsys, "demo")

    assert status == 2
    assert "uvicorn" in err
    assert 'pip install "sessionup[demo]"' in err


def test_demo_ignores_the_store_url_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONUP_STORE_URL", "memory://")

    args = cli.build_parser().parse_args(["demo"])

    assert args.store == "sqlite:///sessionup-demo.db"


def test_demo_refuses_a_port_out_of_range(capsys: Capture) -> None:
    status, _, err = run(capsys, "demo", "--port", "70000")

    assert status == 2
    assert "--port" in err


def test_redact_url_hides_passwords_and_secret_options() -> None:
    url = "postgresql://app:s3cret@db.internal:5432/sessions?sslpassword=p&connect_timeout=3"

    shown = cli.redact_url(url)

    assert "s3cret" not in shown
    assert "sslpassword=%2A%2A%2A" in shown
    assert "connect_timeout=3" in shown
    assert shown.startswith("postgresql://app:***@db.internal:5432/sessions")
    assert cli.redact_url("memory://") == "memory://"
