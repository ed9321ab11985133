"""``touch`` only moves a live session's expiry later; ``create`` never overwrites."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sessionup.core.errors import DuplicateIDError
from sessionup.core.store import Store, StoreTraits

from ._base import ContractBase
from ._support import (
    HOUR,
    Names,
    check_absent,
    check_bool,
    check_datetime,
    check_session,
    contract_test,
    expect_error,
    ids_of_user,
    make_expired,
    make_session,
    utcnow,
)


class WriteContract(ContractBase):
    """Every write either does what the contract says or leaves the store as it was."""

    __test__ = False

    @contract_test
    async def test_touch_extends_a_live_session_and_returns_true(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        session = make_session(names.id(), names.user())
        await store.create(session)
        later = session.expires_at + 2 * HOUR

        touched = await store.touch(session.id, later)

        check_bool(touched, True, "touch of a live session")
        got = await store.fetch_by_id(session.id)
        assert got is not None, "fetch_by_id lost a session that was touched"
        check_datetime(got.expires_at, later, traits, "expires_at after touch")

    @contract_test
    async def test_touch_never_moves_expiry_earlier(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        session = make_session(names.id(), names.user(), expires_in=2 * HOUR)
        await store.create(session)

        earlier = await store.touch(session.id, session.expires_at - HOUR)
        after_earlier = await store.fetch_by_id(session.id)
        same = await store.touch(session.id, session.expires_at)
        after_same = await store.fetch_by_id(session.id)

        check_bool(earlier, True, "touch of a live session with an earlier expiry")
        check_bool(same, True, "touch of a live session with its own expiry")
        for got, call in ((after_earlier, "an earlier expiry"), (after_same, "its own expiry")):
            assert got is not None, f"fetch_by_id lost a session touched with {call}"
            check_datetime(
                got.expires_at, session.expires_at, traits, f"expires_at after touch with {call}"
            )

    @contract_test
    async def test_touch_changes_nothing_but_the_expiry(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        session = make_session(names.id(), names.user(), meta={"kept": "yes", "ключ": "значение"})
        await store.create(session)
        later = session.expires_at + timedelta(minutes=30, microseconds=7)

        await store.touch(session.id, later)

        want = replace(session, expires_at=later)
        check_session(await store.fetch_by_id(session.id), want, traits, "fetch_by_id after touch")
        listed = await store.fetch_by_user_key(session.user_key)
        assert len(listed) == 1, f"a touched session must be listed once, got {len(listed)}"
        check_session(listed[0], want, traits, "fetch_by_user_key after touch")

    @contract_test
    async def test_touch_of_an_absent_id_returns_false_and_writes_nothing(
        self, store: Store, names: Names
    ) -> None:
        session = make_session(names.id(), names.user())
        await store.create(session)
        await store.delete_by_id(session.id)
        never = names.id("never-created")

        deleted = await store.touch(session.id, utcnow() + HOUR)
        absent = await store.touch(never, utcnow() + HOUR)

        check_bool(deleted, False, "touch of a deleted session")
        check_bool(absent, False, "touch of an id never created")
        await check_absent(store, session.id, "was deleted, then touched")
        await check_absent(store, never, "was never created, only touched")
        assert not await ids_of_user(store, session.user_key), (
            "touch brought a deleted session back into fetch_by_user_key"
        )

    @contract_test
    async def test_touch_of_an_expired_session_returns_false_and_does_not_revive_it(
        self, store: Store, names: Names
    ) -> None:
        session = make_expired(names.id(), names.user())
        await store.create(session)

        touched = await store.touch(session.id, utcnow() + HOUR)

        check_bool(touched, False, "touch of an expired session")
        await check_absent(store, session.id, "expired, then was touched")
        assert not await ids_of_user(store, session.user_key), (
            "touch revived an expired session into fetch_by_user_key"
        )

    @contract_test
    async def test_create_with_a_duplicate_id_raises_and_keeps_the_original(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        original = make_session(names.id(), names.user("first"), meta={"who": "first"})
        await store.create(original)
        intruder = make_session(
            original.id, names.user("second"), expires_in=3 * HOUR, meta={"who": "second"}
        )

        await expect_error(store.create(intruder), DuplicateIDError, "create of an existing id")

        got = await store.fetch_by_id(original.id)
        check_session(got, original, traits, "fetch_by_id after a refused duplicate")
        assert await ids_of_user(store, intruder.user_key) == set(), (
            "a refused duplicate was listed under the second user"
        )
        assert await ids_of_user(store, original.user_key) == {original.id}, (
            "the original session must still be listed under its user"
        )
