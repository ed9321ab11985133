"""Open, close, reopen, and a backend that is down."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final

import pytest

from sessionup.core.errors import StoreClosedError, StoreError
from sessionup.core.store import Store, StoreTraits

from ._base import ContractBase
from ._support import (
    HOUR,
    Names,
    StoreFactory,
    check_absent,
    check_datetime,
    check_session,
    contract_test,
    expect_error,
    ids_of_user,
    make_expired,
    make_session,
    utcnow,
)

_Call = Callable[[Store, Names], Awaitable[object]]

#: One call of every store method, as a closed or dead store would be asked.
CALLS: Final[dict[str, _Call]] = {
    "open": lambda s, n: s.open(),
    "create": lambda s, n: s.create(make_session(n.id(), n.user())),
    "fetch_by_id": lambda s, n: s.fetch_by_id(n.id()),
    "fetch_by_user_key": lambda s, n: s.fetch_by_user_key(n.user()),
    "delete_by_id": lambda s, n: s.delete_by_id(n.id()),
    "delete_by_user_key": lambda s, n: s.delete_by_user_key(n.user(), except_ids=(n.id(),)),
    "touch": lambda s, n: s.touch(n.id(), utcnow() + HOUR),
    "delete_expired": lambda s, n: s.delete_expired(limit=10),
}

_METHODS: Final = (*CALLS, "close", "__aenter__", "__aexit__")


class LifecycleContract(ContractBase):
    """What a store declares, how it opens and closes, and what survives a reopen."""

    __test__ = False

    @contract_test
    async def test_store_declares_its_traits(self, store: Store) -> None:
        traits = getattr(store, "traits", None)

        assert isinstance(traits, StoreTraits), (
            f"store.traits must be a StoreTraits, got {type(traits).__name__}"
        )
        for name in ("persistent", "native_ttl"):
            value = getattr(traits, name)
            assert type(value) is bool, f"traits.{name} must be a bool, got {value!r}"
        precision = traits.expiry_precision
        assert isinstance(precision, timedelta), "traits.expiry_precision must be a timedelta"
        assert timedelta(0) < precision <= timedelta(seconds=1), (
            f"traits.expiry_precision must be positive and at most one second, got {precision}"
        )

    @contract_test
    async def test_store_implements_every_method_as_a_coroutine(self, store: Store) -> None:
        missing = [m for m in _METHODS if not inspect.iscoroutinefunction(getattr(store, m, None))]

        assert not missing, f"these store methods are missing or not coroutines: {missing}"
        assert isinstance(store, Store), "the store does not satisfy the Store protocol"

    @contract_test
    async def test_open_is_idempotent(
        self, store: Store, store_factory: StoreFactory, traits: StoreTraits, names: Names
    ) -> None:
        other = store_factory()

        await other.open()
        await other.open()

        session = make_session(names.id(), names.user())
        try:
            await other.create(session)
            check_session(await other.fetch_by_id(session.id), session, traits, "fetch_by_id")
        finally:
            await other.delete_by_user_key(session.user_key)
            await other.close()

    @contract_test
    async def test_first_use_opens_the_store_without_an_explicit_open(
        self, store: Store, store_factory: StoreFactory, traits: StoreTraits, names: Names
    ) -> None:
        other = store_factory()
        session = make_session(names.id(), names.user())

        try:
            await other.create(session)
            got = await other.fetch_by_id(session.id)
        finally:
            await other.delete_by_user_key(session.user_key)
            await other.close()

        check_session(got, session, traits, "fetch_by_id on a store never opened explicitly")

    @contract_test
    async def test_close_is_idempotent(self, store: Store, store_factory: StoreFactory) -> None:
        other = store_factory()
        await other.open()

        await other.close()
        await other.close()
        await other.close()

    @contract_test
    async def test_close_of_an_unopened_store_is_harmless(
        self, store: Store, store_factory: StoreFactory
    ) -> None:
        other = store_factory()

        await other.close()
        await other.close()

    @contract_test
    async def test_async_with_opens_yields_the_store_and_closes_it(
        self, store: Store, store_factory: StoreFactory, names: Names
    ) -> None:
        other = store_factory()

        async with other as entered:
            assert entered is other, "async with must yield the store itself"
            assert await entered.fetch_by_id(names.id()) is None, "a fresh id must not be found"

        await expect_error(
            other.fetch_by_id(names.id()), StoreClosedError, "fetch_by_id after async with"
        )

    @pytest.mark.parametrize("method", list(CALLS))
    @contract_test
    async def test_use_after_close_raises_store_closed_error(
        self, store: Store, store_factory: StoreFactory, names: Names, method: str
    ) -> None:
        other = store_factory()
        await other.open()
        await other.close()

        call = CALLS[method](other, names)

        await expect_error(call, StoreClosedError, f"{method} on a closed store")

    @contract_test
    async def test_sessions_survive_close_and_reopen(
        self, store: Store, store_factory: StoreFactory, traits: StoreTraits, names: Names
    ) -> None:
        if not traits.persistent:
            await self._check_nothing_survives(store_factory, names)
            return
        user_key = names.user()
        sessions = [make_session(names.id(), user_key, meta={"n": str(i)}) for i in range(3)]
        async with store_factory() as first:
            for session in sessions:
                await first.create(session)

        async with store_factory() as second:
            for session in sessions:
                got = await second.fetch_by_id(session.id)
                check_session(got, session, traits, "fetch_by_id on a reopened store")
            listed = await ids_of_user(second, user_key)

        assert listed == {s.id for s in sessions}, (
            "fetch_by_user_key on a reopened store must list what an earlier instance wrote"
        )

    @contract_test
    async def test_deletes_and_touches_survive_reopen(
        self, store: Store, store_factory: StoreFactory, traits: StoreTraits, names: Names
    ) -> None:
        if not traits.persistent:
            await self._check_nothing_survives(store_factory, names)
            return
        user_key, gone_user = names.user(), names.user("gone")
        kept, touched, deleted = (make_session(names.id(), user_key) for _ in range(3))
        expired = make_expired(names.id(), user_key)
        later = touched.expires_at + 2 * HOUR
        async with store_factory() as first:
            for session in (kept, touched, deleted, expired, make_session(names.id(), gone_user)):
                await first.create(session)
            await first.touch(touched.id, later)
            await first.delete_by_id(deleted.id)
            await first.delete_by_user_key(gone_user)

        async with store_factory() as second:
            listed = await ids_of_user(second, user_key)
            got = await second.fetch_by_id(touched.id)
            await check_absent(second, deleted.id, "was deleted before the reopen")
            await check_absent(second, expired.id, "expired before the reopen")
            gone = await ids_of_user(second, gone_user)

        assert listed == {kept.id, touched.id}, (
            f"a reopened store must list the 2 sessions left, listed {len(listed)}"
        )
        assert got is not None, "a session touched before the reopen was lost"
        check_datetime(got.expires_at, later, traits, "expires_at touched before the reopen")
        assert not gone, "sessions deleted by user key before the reopen came back"

    async def _check_nothing_survives(self, store_factory: StoreFactory, names: Names) -> None:
        """For a store declaring persistent=False, the declared fact: a new instance starts
        empty (a store that does keep data should declare persistent=True)."""
        session = make_session(names.id(), names.user())
        async with store_factory() as first:
            await first.create(session)
        async with store_factory() as second:
            found = await second.fetch_by_id(session.id)
            listed = await ids_of_user(second, session.user_key)

        hint = "declare persistent=True so the reopen tests check it"
        assert found is None, f"persistent=False, yet a new instance read a session: {hint}"
        assert not listed, f"persistent=False, yet a new instance listed sessions: {hint}"

    @contract_test
    async def test_dead_store_constructor_does_no_io(
        self, dead_store_factory: StoreFactory | None
    ) -> None:
        dead_store_factory = _given(dead_store_factory)
        started = time.monotonic()

        try:
            dead = dead_store_factory()
        except Exception as exc:
            raise AssertionError(
                f"building a store for a dead backend raised {type(exc).__name__}: {exc}; "
                "constructors do no I/O"
            ) from exc
        elapsed = time.monotonic() - started

        assert elapsed < 1.0, f"building a store took {elapsed:.2f} s: constructors do no I/O"
        async with asyncio.timeout(self.dead_store_timeout):
            await dead.close()

    @contract_test
    async def test_dead_backend_raises_store_error_in_bounded_time(
        self, dead_store_factory: StoreFactory | None, names: Names
    ) -> None:
        dead_store_factory = _given(dead_store_factory)

        problems = await asyncio.gather(
            *(self._attempt_dead(dead_store_factory, m, call, names) for m, call in CALLS.items())
        )

        found = [p for p in problems if p]
        assert not found, "against a dead backend:\n  " + "\n  ".join(found)

    async def _attempt_dead(
        self, factory: StoreFactory, method: str, call: _Call, names: Names
    ) -> str | None:
        """One call on a fresh store whose backend is down; what went wrong, if anything."""
        limit = self.dead_store_timeout
        try:
            dead = factory()
        except Exception as exc:
            return f"building the store for {method} raised {type(exc).__name__}: {exc}"
        problem = None
        try:
            async with asyncio.timeout(limit) as deadline:
                result = await call(dead, names)
            problem = f"{method} returned {result!r} instead of raising StoreError"
        except StoreError as exc:
            if exc.__cause__ is None:
                problem = (
                    f"{method} raised {type(exc).__name__} without the driver's error as cause"
                )
        except TimeoutError as exc:
            expired = deadline.expired()
            kind = "gave no answer" if expired else f"raised TimeoutError ({exc}), not StoreError"
            problem = f"{method} {kind} within {limit:g} s"
        except Exception as exc:
            problem = f"{method} raised {type(exc).__name__}: {exc} (not a StoreError)"
        try:
            async with asyncio.timeout(limit):
                await dead.close()
        except Exception as exc:
            problem = problem or f"close after a failed {method} raised {type(exc).__name__}"
        return problem


#: The tests that need a dead backend; collected only when one is given (see the plugin).
DEAD_BACKEND_TESTS = (
    "test_dead_store_constructor_does_no_io",
    "test_dead_backend_raises_store_error_in_bounded_time",
)


def _given(factory: StoreFactory | None) -> StoreFactory:
    if factory is None:
        pytest.fail(
            "dead_store_factory returned None: leave the fixture alone when the store has no "
            "address that can be down (the dead-backend tests are then not collected)",
            pytrace=False,
        )
    return factory
