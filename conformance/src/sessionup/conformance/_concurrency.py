"""Hundreds of coroutines at once: nothing lost, nothing resurrected, every count honest."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Iterable
from typing import Any

from sessionup.core.errors import DuplicateIDError
from sessionup.core.session import Session
from sessionup.core.store import Store, StoreTraits

from ._base import ContractBase
from ._support import (
    HOUR,
    Names,
    check_absent,
    check_datetime,
    contract_test,
    describe,
    ids_of_user,
    make_session,
)

_USERS = 10


async def _all_at_once(calls: Iterable[Awaitable[Any]]) -> list[Any]:
    """Run the calls concurrently, started in a shuffled but repeatable order.

    Results come back in the order of ``calls``; raised errors are returned, not raised.
    """
    pending = list(calls)
    order = list(range(len(pending)))
    random.Random(20240917).shuffle(order)
    tasks: dict[int, asyncio.Future[Any]] = {i: asyncio.ensure_future(pending[i]) for i in order}
    return await asyncio.gather(*(tasks[i] for i in range(len(pending))), return_exceptions=True)


def _no_errors(results: Iterable[object], what: str) -> None:
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, (
        f"{len(errors)} of the concurrent {what} raised; the first: "
        f"{type(errors[0]).__name__}: {errors[0]}"
    )


class ConcurrencyContract(ContractBase):
    """Many coroutines calling one store instance at the same time."""

    __test__ = False

    @contract_test
    async def test_concurrent_creates_touches_and_deletes_leave_exactly_the_survivors(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        users = [names.user(f"u{i}") for i in range(_USERS)]
        doomed_user = names.user("doomed")
        first = [
            make_session(names.id(f"c{i}"), users[i % _USERS]) for i in range(self.concurrency)
        ]
        doomed_user_sessions = [make_session(names.id(), doomed_user) for _ in range(30)]
        created = await _all_at_once(store.create(s) for s in [*first, *doomed_user_sessions])
        _no_errors(created, "creates")
        await self._check_survivors(store, users, first, "concurrent creates")

        deleted, touched, untouched = first[0::3], first[1::3], first[2::3]
        later = {s.id: s.expires_at + 2 * HOUR for s in touched}
        newcomers = [
            make_session(names.id(f"n{i}"), users[i % _USERS]) for i in range(self.concurrency // 3)
        ]
        calls: list[Awaitable[Any]] = [store.delete_by_id(s.id) for s in deleted]
        calls += [store.touch(s.id, later[s.id]) for s in touched]
        calls += [store.create(s) for s in newcomers]
        calls += [store.fetch_by_user_key(u) for u in users]
        calls.append(store.delete_by_user_key(doomed_user))
        results = await _all_at_once(calls)
        _no_errors(results, "deletes, touches, creates and reads")

        deletes, touches = results[: len(deleted)], results[len(deleted) :][: len(touched)]
        assert all(r is True for r in deletes), (
            f"{sum(r is not True for r in deletes)} of {len(deleted)} concurrent delete_by_id "
            "of live sessions did not return True"
        )
        assert all(r is True for r in touches), (
            f"{sum(r is not True for r in touches)} of {len(touched)} concurrent touches "
            "of live sessions did not return True"
        )
        assert results[-1] == len(doomed_user_sessions), (
            "delete_by_user_key running among other calls must count the user's 30 sessions, "
            f"got {results[-1]!r}"
        )
        survivors = [*touched, *untouched, *newcomers]
        await self._check_survivors(store, users, survivors, "concurrent writes")
        for session in deleted:
            await check_absent(store, session.id, "was deleted while others wrote")
        for session in touched:
            got = await store.fetch_by_id(session.id)
            assert got is not None, "a session touched among other calls was lost"
            check_datetime(got.expires_at, later[session.id], traits, "expires_at after touch")
        assert await ids_of_user(store, doomed_user) == set(), (
            "sessions of a user deleted among other calls came back"
        )

    async def _check_survivors(
        self, store: Store, users: list[str], survivors: list[Session], what: str
    ) -> None:
        for user_key in users:
            expected = {s.id for s in survivors if s.user_key == user_key}
            listed = await ids_of_user(store, user_key)
            lost, resurrected = expected - listed, listed - expected
            assert listed == expected, (
                f"after {what}, {user_key!r} has {len(listed)} sessions listed, "
                f"{len(expected)} expected: lost {describe(lost)}, "
                f"resurrected {describe(resurrected)}"
            )
        for session in survivors:
            got = await store.fetch_by_id(session.id)
            assert got is not None, f"after {what}, fetch_by_id lost session {session.id}"

    @contract_test
    async def test_concurrent_creates_of_one_id_admit_exactly_one(
        self, store: Store, names: Names
    ) -> None:
        sid = names.id()
        rivals = [make_session(sid, names.user(f"r{i}")) for i in range(20)]

        results = await _all_at_once(store.create(s) for s in rivals)

        others = [r for r in results if r is not None and not isinstance(r, DuplicateIDError)]
        assert not others, f"concurrent creates of one id raised {others[0]!r}"
        winners = [s for s, r in zip(rivals, results, strict=True) if r is None]
        assert len(winners) == 1, (
            f"{len(winners)} of 20 concurrent creates of one id succeeded; exactly one may"
        )
        got = await store.fetch_by_id(sid)
        assert got is not None, "fetch_by_id lost the session whose create succeeded"
        assert got.user_key == winners[0].user_key, (
            "the stored session is not the one whose create succeeded"
        )
        for rival in rivals:
            if rival is not winners[0]:
                assert await ids_of_user(store, rival.user_key) == set(), (
                    "a create refused as a duplicate was listed under its user"
                )

    @contract_test
    async def test_concurrent_deletes_of_one_id_report_true_once(
        self, store: Store, names: Names
    ) -> None:
        session = make_session(names.id(), names.user())
        await store.create(session)

        results = await _all_at_once(store.delete_by_id(session.id) for _ in range(20))

        _no_errors(results, "delete_by_id calls")
        assert sorted(results) == [False] * 19 + [True], (
            f"20 concurrent delete_by_id of one session returned True {results.count(True)} "
            "times; exactly one deleted it"
        )

    @contract_test
    async def test_concurrent_delete_by_user_key_counts_each_session_once(
        self, store: Store, names: Names
    ) -> None:
        user_key = names.user()
        for session in [make_session(names.id(), user_key) for _ in range(60)]:
            await store.create(session)

        results = await _all_at_once(store.delete_by_user_key(user_key) for _ in range(5))

        _no_errors(results, "delete_by_user_key calls")
        assert sum(results) == 60, (
            f"5 concurrent delete_by_user_key of 60 sessions reported {results} (sum "
            f"{sum(results)}); together they deleted each session once"
        )
        assert await ids_of_user(store, user_key) == set(), "the user's sessions are still listed"

    @contract_test
    async def test_touch_racing_delete_never_resurrects(self, store: Store, names: Names) -> None:
        user_key = names.user()
        sessions = [make_session(names.id(), user_key) for _ in range(50)]
        for session in sessions:
            await store.create(session)

        results = await _all_at_once(
            call
            for s in sessions
            for call in (
                store.touch(s.id, s.expires_at + HOUR),
                store.delete_by_id(s.id),
                store.touch(s.id, s.expires_at + 2 * HOUR),
            )
        )

        _no_errors(results, "touches and deletes")
        listed = await ids_of_user(store, user_key)
        assert not listed, (
            f"{len(listed)} of 50 sessions deleted while being touched came back: "
            "touch must never write a session that is gone"
        )
        for session in sessions:
            await check_absent(store, session.id, "was deleted while being touched")
