"""One user's calls never reach another's sessions, whatever the ids and keys hold."""

from __future__ import annotations

from typing import Final

from sessionup.core.store import Store, StoreTraits

from ._base import ContractBase
from ._support import (
    HOUR,
    Names,
    check_absent,
    check_bool,
    check_count,
    check_session,
    contract_test,
    create_all,
    describe,
    ids_of_user,
    make_session,
    utcnow,
)

#: Text that means something to some backend: globs, patterns, operators, quotes, paths.
HOSTILE: Final = (
    "*",
    "?",
    "[",
    "]",
    "[a-z]",
    "[!x]",
    "{a,b}",
    "%",
    "_",
    "\\",
    "\\*",
    '{"$ne": ""}',
    '{"$gt": ""}',
    "$where",
    "' OR 1=1--",
    '" OR ""="',
    "'; DROP TABLE sessions;--",
    "../x",
    "../../etc/passwd",
    "a/b",
    "a\\b",
    ".",
    "..",
    ":",
    "user:*",
    " ",
    "日本語",
    "🔑",
)


def _hostile_names(token: str) -> list[str]:
    """Each hostile text before and after this test's token, so a match would leak."""
    return [form for text in HOSTILE for form in (f"{token}{text}", f"{text}{token}")]


class IsolationContract(ContractBase):
    """User isolation and hostile ids and user keys."""

    __test__ = False

    @contract_test
    async def test_fetch_by_user_key_never_returns_another_users_sessions(
        self, store: Store, names: Names
    ) -> None:
        base = names.user("alice")
        user_keys = [base, names.raw_user(f"{base}2"), names.raw_user(base[:-1]),
                     names.raw_user(base.upper()), names.raw_user(f"{base} "),
                     names.raw_user(f" {base}")]  # fmt: skip
        owned = {
            user_key: {s.id for s in await create_all(store, [make_session(names.id(), user_key)])}
            for user_key in user_keys
        }

        for user_key, ids in owned.items():
            listed = await ids_of_user(store, user_key)
            assert listed == ids, (
                f"fetch_by_user_key({user_key!r}) must list only that user's session; "
                f"listed {describe(listed)}, expected {describe(ids)} "
                "(user keys are compared exactly: case, prefixes and spaces matter)"
            )

    @contract_test
    async def test_delete_by_user_key_never_touches_another_users_sessions(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        doomed = names.user("doomed")
        neighbours = [names.raw_user(f"{doomed}x"), names.raw_user(doomed.upper())]
        await create_all(store, [make_session(names.id(), doomed) for _ in range(3)])
        kept = await create_all(store, [make_session(names.id(), u) for u in neighbours])

        deleted = await store.delete_by_user_key(doomed)

        check_count(deleted, 3, "delete_by_user_key of a user with 3 sessions")
        for session in kept:
            got = await store.fetch_by_id(session.id)
            check_session(got, session, traits, f"fetch_by_id of neighbour {session.user_key!r}")

    @contract_test
    async def test_delete_by_id_removes_only_that_session(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        user_key = names.user()
        target, *others = await create_all(
            store, [make_session(names.id(f"n{i}"), user_key) for i in range(4)]
        )

        await store.delete_by_id(target.id)

        for session in others:
            check_session(await store.fetch_by_id(session.id), session, traits, "fetch_by_id")
        assert await ids_of_user(store, user_key) == {s.id for s in others}, (
            "delete_by_id removed more than the one session"
        )

    @contract_test
    async def test_hostile_ids_are_stored_and_found_as_plain_data(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        victim = make_session(names.token, names.user("victim"))
        owner = names.user("owner")
        sessions = [make_session(sid, owner) for sid in _hostile_names(names.token)]
        await create_all(store, [victim, *sessions])

        for session in sessions:
            got = await store.fetch_by_id(session.id)
            check_session(got, session, traits, f"fetch_by_id({session.id!r})")
        listed = await ids_of_user(store, owner)
        assert listed == {s.id for s in sessions}, (
            f"fetch_by_user_key lists {len(listed)} of {len(sessions)} sessions with hostile ids"
        )

        for session in sessions:
            deleted = await store.delete_by_id(session.id)
            check_bool(deleted, True, f"delete_by_id({session.id!r})")
        check_session(await store.fetch_by_id(victim.id), victim, traits, "fetch_by_id (victim)")

    @contract_test
    async def test_hostile_ids_match_nothing_when_absent(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        victims = [make_session(names.token + suffix, names.user()) for suffix in ("", "a", "1")]
        await create_all(store, victims)

        for sid in _hostile_names(names.token):
            await check_absent(store, sid, f"has another id than the one asked for, {sid!r}")
            check_bool(await store.touch(sid, utcnow() + HOUR), False, f"touch({sid!r})")
            check_bool(await store.delete_by_id(sid), False, f"delete_by_id({sid!r})")

        for victim in victims:
            got = await store.fetch_by_id(victim.id)
            check_session(got, victim, traits, "fetch_by_id after hostile lookups (victim)")

    @contract_test
    async def test_hostile_user_keys_are_plain_data(self, store: Store, names: Names) -> None:
        victim = names.raw_user(names.token)
        hostile = [names.raw_user(key) for key in _hostile_names(names.token)]
        victim_session = make_session(names.id("victim"), victim)
        owned = {key: make_session(names.id(), key) for key in hostile}
        await create_all(store, [victim_session, *owned.values()])

        for key, session in owned.items():
            listed = await ids_of_user(store, key)
            assert listed == {session.id}, (
                f"fetch_by_user_key({key!r}) must list exactly its own session, "
                f"listed {len(listed)}"
            )
        for key in hostile:
            check_count(await store.delete_by_user_key(key), 1, f"delete_by_user_key({key!r})")

        assert await ids_of_user(store, victim) == {victim_session.id}, (
            "deleting users with hostile keys removed the victim's session"
        )

    @contract_test
    async def test_hostile_user_keys_match_nothing_when_absent(
        self, store: Store, names: Names
    ) -> None:
        victims = [names.raw_user(names.token + suffix) for suffix in ("", "a", "1")]
        sessions = await create_all(store, [make_session(names.id(), key) for key in victims])

        for key in _hostile_names(names.token):
            listed = await store.fetch_by_user_key(key)
            assert listed == [], f"fetch_by_user_key({key!r}) listed {len(listed)} sessions"
            check_count(await store.delete_by_user_key(key), 0, f"delete_by_user_key({key!r})")

        for session in sessions:
            assert await ids_of_user(store, session.user_key) == {session.id}, (
                f"hostile calls removed the session of {session.user_key!r}"
            )
