"""The plugin: inert unless asked, both ways in, strict and auto asyncio modes, and ``run``."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from sessionup.conformance import run
from sessionup.conformance.plugin import STORE_URL_ENV, SUITE_DIR
from sessionup.core import StoreSpec, hookimpl
from sessionup.core import plugins as core_plugins

HERE = Path(__file__).parent
CONTRACT_TESTS = 73
MEMORY_LEFT_OUT = 2  # the two dead-backend tests: the memory store has no address to be down
LOOP_SCOPE = ("-o", "asyncio_default_fixture_loop_scope=function")

UNRELATED = """
def test_one():
    assert 1 + 1 == 2
"""

MEMORY_SUBCLASS = """
import pytest
from sessionup.conformance import StoreContractTests
from sessionup.stores.memory import MemoryStore


class TestMemory(StoreContractTests):
    @pytest.fixture
    def store_factory(self):
        return MemoryStore
"""


@pytest.fixture(autouse=True)
def _no_store_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STORE_URL_ENV, raising=False)


def runpytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An inner run in pytester's folder, as a project without our root config would."""
    return pytester.runpytest("-p", "no:cacheprovider", *LOOP_SCOPE, *args)


def outcomes(pytester: pytest.Pytester, *args: str) -> dict[str, int]:
    counts = runpytest(pytester, *args).parseoutcomes()
    counts.pop("deselected", None)
    return counts


def test_an_unrelated_project_sees_nothing_of_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_unrelated=UNRELATED)

    result = runpytest(pytester)

    result.assert_outcomes(passed=1)
    assert "sessionup" not in result.stdout.str().replace("sessionup-conformance-0.1.0", "")


def test_an_unrelated_project_stays_untouched_with_the_url_variable_set(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STORE_URL_ENV, "memory://")
    pytester.makepyfile(test_unrelated=UNRELATED)

    result = runpytest(pytester)

    result.assert_outcomes(passed=1)


def test_collecting_a_folder_above_the_suite_does_not_collect_it(
    pytester: pytest.Pytester,
) -> None:
    result = runpytest(pytester, str(SUITE_DIR.parent))

    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout.str()
    assert "error" not in result.stdout.str().lower()


def test_the_options_are_listed_in_help(pytester: pytest.Pytester) -> None:
    result = runpytest(pytester, "--help")

    result.stdout.fnmatch_lines(["*--sessionup-store=URL*", "*--sessionup-dead-store=URL*"])


def test_pyargs_runs_the_suite_against_the_url(pytester: pytest.Pytester) -> None:
    counts = outcomes(
        pytester, "--pyargs", "sessionup.conformance", "--sessionup-store", "memory://"
    )

    assert counts == {"passed": CONTRACT_TESTS - MEMORY_LEFT_OUT}


def test_the_suite_folder_as_a_path_runs_it_too(pytester: pytest.Pytester) -> None:
    counts = outcomes(pytester, str(SUITE_DIR), "--sessionup-store", "memory://", "-k", "touch")

    assert counts["passed"] >= 8
    assert "failed" not in counts


def test_the_url_may_come_from_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STORE_URL_ENV, "memory://")

    counts = outcomes(pytester, "--pyargs", "sessionup.conformance", "-k", "hostile")

    assert counts == {"passed": 4}


def test_custom_python_files_patterns_still_collect_the_suite(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npython_files = check_*.py\n")

    counts = outcomes(
        pytester, "--pyargs", "sessionup.conformance", "--sessionup-store", "memory://", "-k", "dup"
    )

    assert counts == {"passed": 1}


def test_naming_the_suite_without_a_url_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = runpytest(pytester, "--pyargs", "sessionup.conformance")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*needs a store: pass --sessionup-store URL or set*"])


def test_an_unknown_scheme_is_a_usage_error_naming_the_installed_ones(
    pytester: pytest.Pytester,
) -> None:
    result = runpytest(
        pytester,
        "--pyargs",
        "sessionup.conformance",
        "--sessionup-store",
        "nosuch://u:secret@host/db",
    )

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--sessionup-store nosuch://u:***@host/db*installed*memory*"])
    assert "secret" not in result.stderr.str()


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_a_subclass_runs_every_test_once_in_either_asyncio_mode(
    pytester: pytest.Pytester, mode: str
) -> None:
    pytester.makeini(
        f"[pytest]\nasyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(test_memory=MEMORY_SUBCLASS)

    result = runpytest(pytester, "-W", "error")

    result.assert_outcomes(passed=CONTRACT_TESTS - MEMORY_LEFT_OUT, deselected=MEMORY_LEFT_OUT)


def test_importing_the_class_without_subclassing_collects_nothing(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\npython_classes = *Tests\n")
    pytester.makepyfile(test_import="from sessionup.conformance import StoreContractTests\n")

    result = runpytest(pytester)

    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout.str()


def test_a_subclass_without_store_factory_says_what_to_override(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_forgot=textwrap.dedent("""
            from sessionup.conformance import StoreContractTests

            class TestForgot(StoreContractTests):
                pass
        """)
    )

    result = runpytest(pytester, "-k", "duplicate_id")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*TestForgot must override the store_factory fixture*"])


def test_a_subclass_may_opt_out_of_collection(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_abstract=MEMORY_SUBCLASS + "    __test__ = False\n")

    result = runpytest(pytester)

    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


class _BrokenSchemes:
    """Registers ``returns-expired://`` for the run() tests, as an installed plugin would."""

    @hookimpl
    def sessionup_store_schemes(self) -> Sequence[StoreSpec]:
        return [
            StoreSpec(
                schemes=("returns-expired",),
                factory="broken_stores:ReturnsExpiredStore.from_url",
                description="a store that returns expired sessions",
            )
        ]


@pytest.fixture
def broken_scheme(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(HERE))
    plugin = _BrokenSchemes()
    core_plugins.register(plugin, "conformance-tests-broken")
    yield
    core_plugins.unregister(plugin)


def test_run_passes_the_memory_store(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\naddopts = "--this-option-breaks-runs"\n')

    code = run("memory://", ["-q"])

    assert code == 0, capsys.readouterr().out
    assert f"{CONTRACT_TESTS - MEMORY_LEFT_OUT} passed" in capsys.readouterr().out


@pytest.mark.usefixtures("broken_scheme")
def test_run_fails_a_broken_store_and_names_its_tests(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("returns-expired://", ["-q"])

    out = capsys.readouterr().out
    assert code == pytest.ExitCode.TESTS_FAILED, out
    assert "4 failed" in out
    assert "test_session_created_expired_is_never_returned_by_id" in out


def test_run_of_an_unknown_scheme_is_a_usage_error(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("nosuch://")

    assert code == pytest.ExitCode.USAGE_ERROR
    assert "no store is installed for scheme 'nosuch'" in capsys.readouterr().err
