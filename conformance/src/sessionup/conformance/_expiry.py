"""An expired session does not exist: never read, never counted, removed on request."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sessionup.core.errors import DuplicateIDError
from sessionup.core.store import Store, StoreTraits

from ._base import ContractBase
from ._support import (
    Names,
    check_absent,
    check_bool,
    check_count,
    check_count_at_most,
    check_session,
    contract_test,
    create_all,
    ids_of_user,
    make_expired,
    make_session,
    utcnow,
)


async def _removed(store: Store, traits: StoreTraits, expected: int, call: str, **kw: int) -> int:
    """Call ``delete_expired``: exactly ``expected`` back, or at most that with native TTLs."""
    got = await store.delete_expired(**kw)
    if traits.native_ttl:
        return check_count_at_most(got, expected, call)
    check_count(got, expected, call)
    return got


class ExpiryContract(ContractBase):
    """Expiry is judged against the clock on every read, and ``delete_expired`` is exact."""

    __test__ = False

    @contract_test
    async def test_session_created_expired_is_never_returned_by_id(
        self, store: Store, names: Names
    ) -> None:
        session = make_expired(names.id(), names.user())

        await store.create(session)

        await check_absent(store, session.id, "was created already expired")

    @contract_test
    async def test_session_created_expired_is_never_returned_by_user_key(
        self, store: Store, names: Names
    ) -> None:
        user_key = names.user()
        live = make_session(names.id("live"), user_key)
        expired = make_expired(names.id("expired"), user_key)

        await create_all(store, [live, expired])
        listed = await ids_of_user(store, user_key)

        assert expired.id not in listed, (
            "fetch_by_user_key listed a session that was created already expired"
        )
        assert listed == {live.id}, "fetch_by_user_key must still list the live session"

    @contract_test
    async def test_expiry_is_judged_at_read_time(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        lifetime = max(timedelta(milliseconds=250), 2 * traits.expiry_precision)
        session = make_session(names.id(), names.user(), expires_in=lifetime)
        await store.create(session)
        assert await store.fetch_by_id(session.id) is not None, (
            f"fetch_by_id must return a session with {lifetime} left to live"
        )

        wait = session.expires_at - utcnow() + traits.expiry_precision
        await asyncio.sleep(wait.total_seconds() + 0.05)

        await check_absent(store, session.id, "expired while it sat in the store")
        listed = await ids_of_user(store, session.user_key)
        assert not listed, "fetch_by_user_key listed a session that expired in the store"
        touched = await store.touch(session.id, utcnow() + timedelta(hours=1))
        check_bool(touched, False, "touch of a session that expired in the store")
        await check_absent(store, session.id, "expired, then was touched")

    @contract_test
    async def test_delete_expired_removes_exactly_the_expired_and_returns_their_count(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        await store.delete_expired()
        users = [names.user("a"), names.user("b")]
        expired = [make_expired(names.id(), users[i % 2]) for i in range(3)]
        live = [make_session(names.id(), users[i % 2]) for i in range(2)]
        await create_all(store, [*expired, *live])

        removed = await _removed(store, traits, 3, "delete_expired() with 3 expired sessions")
        again = await store.delete_expired()

        if not traits.native_ttl:
            check_count(again, 0, "a second delete_expired() with nothing left expired")
        else:
            check_count_at_most(again, 3 - removed, "a second delete_expired()")
        for session in expired:
            await check_absent(store, session.id, "expired and was purged")
        for session in live:
            got = await store.fetch_by_id(session.id)
            check_session(got, session, traits, "fetch_by_id after delete_expired (live session)")

    @contract_test
    async def test_delete_expired_with_a_limit_removes_at_most_that_many(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        await store.delete_expired()
        user_key = names.user()
        expired = [make_expired(names.id(), user_key) for _ in range(5)]
        live = make_session(names.id("live"), user_key)
        await create_all(store, [*expired, live])

        left = 5
        for step, expected in enumerate((2, 2, 1, 0), start=1):
            call = f"delete_expired(limit=2), call {step}, with {left} expired left"
            left -= await _removed(store, traits, min(expected, left), call, limit=2)

        assert await ids_of_user(store, user_key) == {live.id}, (
            "after purging with a limit, only the live session may be listed"
        )

    @contract_test
    async def test_delete_expired_with_nothing_expired_returns_zero(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        await store.delete_expired()
        session = make_session(names.id(), names.user())
        await store.create(session)

        removed = await store.delete_expired()

        check_count(removed, 0, "delete_expired() with only live sessions")
        check_session(await store.fetch_by_id(session.id), session, traits, "fetch_by_id")

    @contract_test
    async def test_create_over_an_expired_id_never_revives_the_old_session(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        old = make_expired(names.id(), names.user("old"))
        await store.create(old)
        new = make_session(old.id, names.user("new"))

        try:
            await store.create(new)
        except DuplicateIDError:
            # Refusing the id is allowed; reviving the expired session is not.
            await check_absent(store, old.id, "expired, and a new create was refused")
            return

        check_session(await store.fetch_by_id(new.id), new, traits, "fetch_by_id of a reused id")
        assert not await ids_of_user(store, old.user_key), (
            "fetch_by_user_key listed the expired session whose id was reused"
        )
