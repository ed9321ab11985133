"""Each deliberately broken store fails exactly the contract tests naming its mistake."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).parent

#: Inner test module: the suite subclassed the way a store author would.
MODULE = """
import pytest
from sessionup.conformance import StoreContractTests
import broken_stores


class TestStore(StoreContractTests):
    dead_store_timeout = 0.5

    @pytest.fixture
    def store_factory(self):
        # One backend behind every instance, as a server would be; a store declaring
        # persistent=False gets a new one each time, as an in-process store does.
        store = broken_stores.{store}
        backend = broken_stores.Backend()
        if not store.traits.persistent:
            return lambda: store(broken_stores.Backend())
        return lambda: store(backend)
{dead_fixture}"""

DEAD_FIXTURE = """
    @pytest.fixture
    def dead_store_factory(self):
        return lambda: broken_stores.{dead}()
"""


@dataclass(frozen=True)
class Outcome:
    passed: set[str]
    skipped: set[str]
    failed: dict[str, str] = field(default_factory=dict)


def _short(nodeid: str) -> str:
    """The test's name with its parameters, without the module and class."""
    return nodeid.split("::", 2)[-1]


def run_suite(pytester: pytest.Pytester, store: str, dead: str | None = None) -> Outcome:
    """Run the whole suite against ``broken_stores.<store>`` in strict asyncio mode."""
    pytester.syspathinsert(HERE)
    dead_fixture = "" if dead is None else DEAD_FIXTURE.format(dead=dead)
    source = MODULE.format(store=store, dead_fixture=dead_fixture)
    pytester.makepyfile(test_store=textwrap.dedent(source))

    reprec = pytester.inline_run(
        "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function"
    )

    assert not reprec.getfailedcollections(), "the suite failed to collect"
    passed, skipped, failed = reprec.listoutcomes()
    errors = [r.nodeid for r in failed if r.when != "call"]
    assert not errors, f"set-up or teardown errors (not test failures): {errors}"
    return Outcome(
        passed={_short(r.nodeid) for r in passed},
        skipped={_short(r.nodeid) for r in skipped},
        failed={_short(r.nodeid): r.longreprtext for r in failed},
    )


DURABILITY = {"test_sessions_survive_close_and_reopen", "test_deletes_and_touches_survive_reopen"}
DEAD = {
    "test_dead_store_constructor_does_no_io",
    "test_dead_backend_raises_store_error_in_bounded_time",
}
CLOSED = {
    f"test_use_after_close_raises_store_closed_error[{method}]"
    for method in (
        "open",
        "create",
        "fetch_by_id",
        "fetch_by_user_key",
        "delete_by_id",
        "delete_by_user_key",
        "touch",
        "delete_expired",
    )
}


@pytest.mark.parametrize(
    ("store", "dead", "left_out"),
    [
        ("DictStore", None, DEAD),
        ("PersistentStore", None, DEAD),
        ("NativeTTLStore", None, DEAD),
        ("MillisecondStore", None, DEAD),
        ("DictStore", "DeadStore", set()),
    ],
)
def test_correct_stores_pass_every_test(
    pytester: pytest.Pytester, store: str, dead: str | None, left_out: set[str]
) -> None:
    outcome = run_suite(pytester, store, dead)

    assert outcome.failed == {}, f"{store} failed: {sorted(outcome.failed)}"
    assert outcome.skipped == set(), "the suite adapts to declared traits; it never skips"
    assert outcome.passed >= DURABILITY, "the reopen tests check non-persistent stores too"
    assert len(outcome.passed) == 73 - len(left_out)
    assert not left_out & outcome.passed, "dead-backend tests need a dead backend"


# Each broken store: the tests it must fail (no more, no fewer), and a phrase that the
# failure report of the first of them must contain.
BROKEN: dict[str, tuple[str | None, dict[str, str]]] = {
    "ReturnsExpiredStore": (
        None,
        {
            "test_session_created_expired_is_never_returned_by_id": (
                "fetch_by_id returned a session that was created already expired"
            ),
            "test_session_created_expired_is_never_returned_by_user_key": "already expired",
            "test_expiry_is_judged_at_read_time": "expired while it sat in the store",
            "test_touch_of_an_expired_session_returns_false_and_does_not_revive_it": (
                "fetch_by_id returned a session that expired, then was touched"
            ),
        },
    ),
    "IgnoresExceptIdsStore": (
        None,
        {
            "test_delete_by_user_key_keeps_the_except_ids": (
                "delete_by_user_key of 5 sessions with 2 in except_ids must return 3, got 5"
            ),
            "test_delete_by_user_key_leaves_except_ids_of_other_users_untouched": "must return 2",
            "test_delete_by_user_key_accepts_any_collection_of_except_ids": "must return 1",
        },
    ),
    "LosesConcurrentWritesStore": (
        None,
        {
            "test_concurrent_creates_touches_and_deletes_leave_exactly_the_survivors": (
                "after concurrent creates"
            ),
            "test_concurrent_creates_of_one_id_admit_exactly_one": "exactly one may",
            "test_concurrent_deletes_of_one_id_report_true_once": "exactly one deleted it",
            "test_concurrent_delete_by_user_key_counts_each_session_once": (
                "together they deleted each session once"
            ),
            "test_touch_racing_delete_never_resurrects": "came back",
        },
    ),
    "OverwritesDuplicatesStore": (
        None,
        {
            "test_create_with_a_duplicate_id_raises_and_keeps_the_original": (
                "create of an existing id must raise DuplicateIDError, but returned None"
            ),
            "test_concurrent_creates_of_one_id_admit_exactly_one": "20 of 20 concurrent creates",
        },
    ),
    "TouchMovesExpiryEarlierStore": (
        None,
        {
            "test_touch_never_moves_expiry_earlier": (
                "expires_at after touch with an earlier expiry changed in the store"
            ),
        },
    ),
    "TouchRevivesExpiredStore": (
        None,
        {
            "test_touch_of_an_expired_session_returns_false_and_does_not_revive_it": (
                "touch of an expired session must return False, got True"
            ),
            "test_expiry_is_judged_at_read_time": "touch of a session that expired in the store",
        },
    ),
    "DriverErrorAfterCloseStore": (
        None,
        {
            "test_use_after_close_raises_store_closed_error[fetch_by_id]": (
                "fetch_by_id on a closed store must raise StoreClosedError, got RuntimeError: "
                "connection pool is closed"
            ),
            "test_async_with_opens_yields_the_store_and_closes_it": "after async with",
            **dict.fromkeys(CLOSED, "must raise StoreClosedError, got RuntimeError"),
        },
    ),
    "GlobUserKeysStore": (
        None,
        {
            "test_hostile_user_keys_are_plain_data": "*') listed sessions of other users: [",
            "test_hostile_user_keys_match_nothing_when_absent": "*') listed 3 sessions",
        },
    ),
    "CaseInsensitiveUserKeysStore": (
        None,
        {
            "test_fetch_by_user_key_never_returns_another_users_sessions": (
                "listed sessions of other users: ['ALICE-"
            ),
            "test_delete_by_user_key_never_touches_another_users_sessions": "must return 3",
        },
    ),
    "IntegerResultsStore": (
        None,
        {
            "test_delete_by_id_removes_the_session_and_returns_true": (
                "delete_by_id of a live session must return a bool, got int 1"
            ),
            "test_delete_by_id_of_an_absent_id_returns_false": "must return a bool, got int 0",
            "test_delete_by_id_of_an_expired_session_returns_false": "must return a bool",
            "test_touch_extends_a_live_session_and_returns_true": "must return a bool, got int 1",
            "test_touch_never_moves_expiry_earlier": "must return a bool",
            "test_touch_of_an_absent_id_returns_false_and_writes_nothing": "must return a bool",
            "test_touch_of_an_expired_session_returns_false_and_does_not_revive_it": "a bool",
            "test_expiry_is_judged_at_read_time": "must return a bool",
            "test_hostile_ids_are_stored_and_found_as_plain_data": "must return a bool",
            "test_hostile_ids_match_nothing_when_absent": "must return a bool",
            "test_concurrent_creates_touches_and_deletes_leave_exactly_the_survivors": (
                "did not return True"
            ),
        },
    ),
    "IgnoresLimitStore": (
        None,
        {
            "test_delete_expired_with_a_limit_removes_at_most_that_many": (
                "delete_expired(limit=2), call 1, with 5 expired left must return 2, got 5"
            ),
        },
    ),
    "CountsExpiredStore": (
        None,
        {
            "test_delete_by_user_key_does_not_count_expired_sessions": (
                "delete_by_user_key of 2 live and 3 expired sessions must return 2, got 5"
            ),
            "test_delete_by_id_of_an_expired_session_returns_false": "must return False, got True",
        },
    ),
    "ForgetfulStore": (
        None,
        {
            "test_sessions_survive_close_and_reopen": (
                "fetch_by_id on a reopened store returned None for a live session"
            ),
            "test_deletes_and_touches_survive_reopen": "must list the 2 sessions left",
        },
    ),
    "RawErrorDeadStore": (
        "DictStore",
        {
            "test_dead_backend_raises_store_error_in_bounded_time": (
                "open raised ConnectionRefusedError: [Errno 111] Connection refused "
                "(not a StoreError)"
            ),
        },
    ),
    "CauselessDeadStore": (
        "DictStore",
        {
            "test_dead_backend_raises_store_error_in_bounded_time": (
                "create raised StoreError without the driver's error as cause"
            ),
        },
    ),
    "HangingDeadStore": (
        "DictStore",
        {
            "test_dead_backend_raises_store_error_in_bounded_time": (
                "fetch_by_id gave no answer within 0.5 s"
            ),
        },
    ),
    "ConnectingConstructorDeadStore": (
        "DictStore",
        {
            "test_dead_store_constructor_does_no_io": "constructors do no I/O",
            "test_dead_backend_raises_store_error_in_bounded_time": (
                "building the store for open raised ConnectionRefusedError"
            ),
        },
    ),
}


@pytest.mark.parametrize("broken", list(BROKEN))
def test_a_broken_store_fails_exactly_the_tests_naming_its_mistake(
    pytester: pytest.Pytester, broken: str
) -> None:
    live_store, expected = BROKEN[broken]
    if live_store is None:
        outcome = run_suite(pytester, broken)
    else:
        outcome = run_suite(pytester, live_store, dead=broken)

    assert set(outcome.failed) == set(expected), (
        f"{broken}: unexpected failures {sorted(set(outcome.failed) - set(expected))}, "
        f"missed {sorted(set(expected) - set(outcome.failed))}"
    )
    for test, phrase in expected.items():
        assert phrase in outcome.failed[test], (
            f"{broken}: the report of {test} lacks {phrase!r}:\n{outcome.failed[test]}"
        )


def test_undeclared_precision_fails_round_trips_and_names_the_declared_precision(
    pytester: pytest.Pytester,
) -> None:
    outcome = run_suite(pytester, "UndeclaredMillisecondStore")

    assert "test_round_trip_keeps_microseconds_in_utc" in outcome.failed
    assert "test_round_trip_of_the_client_address[ipv6-loopback]" in outcome.failed
    for test, report in outcome.failed.items():
        assert "changed in the store" in report, f"{test} failed for another reason:\n{report}"
        assert "expiry_precision=0:00:00.000001" in report, f"{test} does not name the precision"
    assert "test_delete_by_user_key_does_not_count_expired_sessions" in outcome.passed
