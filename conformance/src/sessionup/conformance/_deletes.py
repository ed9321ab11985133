"""Deleting by id and by user key: exactly what was asked, with honest return values."""

from __future__ import annotations

from sessionup.core.store import Store, StoreTraits

from ._base import ContractBase
from ._support import (
    Names,
    check_absent,
    check_bool,
    check_count,
    check_session,
    contract_test,
    create_all,
    describe,
    ids_of_user,
    make_expired,
    make_session,
)


class DeleteContract(ContractBase):
    """``delete_by_id`` and ``delete_by_user_key`` remove sessions and say how many."""

    __test__ = False

    @contract_test
    async def test_fetch_by_id_of_an_absent_id_returns_none(
        self, store: Store, names: Names
    ) -> None:
        await store.create(make_session(names.id("other"), names.user()))

        await check_absent(store, names.id("never-created"), "was never created")

    @contract_test
    async def test_fetch_by_user_key_of_an_unknown_user_returns_an_empty_list(
        self, store: Store, names: Names
    ) -> None:
        await store.create(make_session(names.id(), names.user("known")))

        listed = await store.fetch_by_user_key(names.user("unknown"))

        assert listed == [], f"fetch_by_user_key of an unknown user must return [], got {listed!r}"

    @contract_test
    async def test_fetch_by_user_key_returns_every_live_session_of_the_user(
        self, store: Store, names: Names
    ) -> None:
        user_key = names.user()
        sessions = await create_all(store, (make_session(names.id(), user_key) for _ in range(120)))

        listed = await ids_of_user(store, user_key)

        missing = {s.id for s in sessions} - listed
        assert not missing, (
            f"fetch_by_user_key listed {len(listed)} of the user's 120 sessions; "
            f"missing {describe(missing)}"
        )

    @contract_test
    async def test_delete_by_id_removes_the_session_and_returns_true(
        self, store: Store, names: Names
    ) -> None:
        session = make_session(names.id(), names.user())
        await store.create(session)

        deleted = await store.delete_by_id(session.id)

        check_bool(deleted, True, "delete_by_id of a live session")
        await check_absent(store, session.id, "was deleted")
        assert not await ids_of_user(store, session.user_key), (
            "fetch_by_user_key listed a session deleted by id"
        )

    @contract_test
    async def test_delete_by_id_of_an_absent_id_returns_false(
        self, store: Store, names: Names
    ) -> None:
        session = make_session(names.id(), names.user())
        await store.create(session)
        await store.delete_by_id(session.id)

        again = await store.delete_by_id(session.id)
        never = await store.delete_by_id(names.id("never-created"))

        check_bool(again, False, "a second delete_by_id of the same session")
        check_bool(never, False, "delete_by_id of an id never created")

    @contract_test
    async def test_delete_by_id_of_an_expired_session_returns_false(
        self, store: Store, names: Names
    ) -> None:
        session = make_expired(names.id(), names.user())
        await store.create(session)

        deleted = await store.delete_by_id(session.id)

        check_bool(deleted, False, "delete_by_id of an expired session (it does not exist)")
        await check_absent(store, session.id, "expired and was deleted")

    @contract_test
    async def test_delete_by_user_key_removes_every_session_and_returns_the_count(
        self, store: Store, names: Names
    ) -> None:
        user_key = names.user()
        sessions = await create_all(store, (make_session(names.id(), user_key) for _ in range(120)))

        deleted = await store.delete_by_user_key(user_key)

        check_count(deleted, 120, "delete_by_user_key of a user with 120 sessions")
        assert not await ids_of_user(store, user_key), "the user's sessions are still listed"
        for session in sessions[:: len(sessions) // 10]:
            await check_absent(store, session.id, "was deleted with its user's sessions")

    @contract_test
    async def test_delete_by_user_key_of_an_unknown_user_returns_zero(
        self, store: Store, names: Names
    ) -> None:
        other = make_session(names.id(), names.user("other"))
        await store.create(other)

        deleted = await store.delete_by_user_key(names.user("unknown"))

        check_count(deleted, 0, "delete_by_user_key of a user with no sessions")
        assert await ids_of_user(store, other.user_key) == {other.id}, (
            "delete_by_user_key of an unknown user deleted someone else's session"
        )

    @contract_test
    async def test_delete_by_user_key_keeps_the_except_ids(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        user_key = names.user()
        sessions = await create_all(store, (make_session(names.id(), user_key) for _ in range(5)))
        keep = sessions[:2]

        deleted = await store.delete_by_user_key(user_key, except_ids=[s.id for s in keep])

        check_count(deleted, 3, "delete_by_user_key of 5 sessions with 2 in except_ids")
        listed = await ids_of_user(store, user_key)
        assert listed == {s.id for s in keep}, (
            f"only the except_ids may survive: expected {describe({s.id for s in keep})}, "
            f"listed {describe(listed)}"
        )
        for session in keep:
            got = await store.fetch_by_id(session.id)
            check_session(got, session, traits, "fetch_by_id of a session in except_ids")

    @contract_test
    async def test_delete_by_user_key_leaves_except_ids_of_other_users_untouched(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        owner, stranger = names.user("owner"), names.user("stranger")
        own = await create_all(store, (make_session(names.id(), owner) for _ in range(3)))
        theirs = await create_all(store, (make_session(names.id(), stranger) for _ in range(2)))
        except_ids = [own[0].id, theirs[0].id, names.id("never-created")]

        deleted = await store.delete_by_user_key(owner, except_ids=except_ids)

        check_count(deleted, 2, "delete_by_user_key with except_ids naming other users' ids")
        assert await ids_of_user(store, owner) == {own[0].id}, (
            "the owner's excepted session must be the only one left"
        )
        assert await ids_of_user(store, stranger) == {s.id for s in theirs}, (
            "delete_by_user_key touched another user's sessions named in except_ids"
        )
        for session in theirs:
            got = await store.fetch_by_id(session.id)
            check_session(got, session, traits, "fetch_by_id of another user's session")

    @contract_test
    async def test_delete_by_user_key_accepts_any_collection_of_except_ids(
        self, store: Store, names: Names
    ) -> None:
        user_key = names.user()
        for kind in (tuple, set, frozenset, list):
            sessions = await create_all(store, [make_session(names.id(), user_key) for _ in "ab"])
            keep = kind([sessions[0].id])

            deleted = await store.delete_by_user_key(user_key, except_ids=keep)

            check_count(deleted, 1, f"delete_by_user_key with except_ids as a {kind.__name__}")
            assert await ids_of_user(store, user_key) == {sessions[0].id}, (
                f"except_ids given as a {kind.__name__} was not kept"
            )
            await store.delete_by_user_key(user_key)

    @contract_test
    async def test_delete_by_user_key_does_not_count_expired_sessions(
        self, store: Store, names: Names
    ) -> None:
        user_key = names.user()
        await create_all(store, [make_expired(names.id(), user_key) for _ in range(3)])
        await create_all(store, [make_session(names.id(), user_key) for _ in range(2)])

        deleted = await store.delete_by_user_key(user_key)

        check_count(deleted, 2, "delete_by_user_key of 2 live and 3 expired sessions")
        assert not await ids_of_user(store, user_key), "the user's sessions are still listed"
