"""Create, then read back: every field exactly as it was written."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sessionup.core.session import MAX_META_BYTES, MAX_META_KEYS, MAX_USER_KEY_LENGTH, Agent
from sessionup.core.session import check_meta as core_check_meta
from sessionup.core.store import Store, StoreTraits

from ._base import ContractBase
from ._support import HOUR, Names, check_session, contract_test, ids_of_user, make_session, utcnow

#: Client addresses to round-trip, by test id.
_IPS = {
    "ipv4": "192.0.2.1",
    "ipv4-unspecified": "0.0.0.0",  # noqa: S104 - an address to store, not to bind
    "ipv6": "2001:db8::1",
    "ipv6-loopback": "::1",
    "ipv4-mapped-ipv6": "::ffff:192.0.2.1",
    "none": None,
}


def _meta_at_the_limit() -> dict[str, str]:
    """As many keys and bytes as a session may carry, with two-byte characters in values."""
    keys = [f"k{i:02d}" for i in range(MAX_META_KEYS)]
    room = (MAX_META_BYTES - sum(len(k) for k in keys)) // MAX_META_KEYS
    value = "ü" * (room // 2) + "a" * (room % 2)
    meta = dict.fromkeys(keys, value)
    core_check_meta(meta)
    return meta


class RoundTripContract(ContractBase):
    """``create`` then ``fetch_by_id`` and ``fetch_by_user_key`` return the same session."""

    __test__ = False

    @contract_test
    async def test_create_then_fetch_by_id_round_trips_every_field(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        session = make_session(names.id(), names.user(), meta={"device": "phone", "plan": "pro"})

        await store.create(session)

        check_session(await store.fetch_by_id(session.id), session, traits, "fetch_by_id")

    @contract_test
    async def test_fetch_by_user_key_returns_the_same_fields_as_fetch_by_id(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        session = make_session(names.id(), names.user(), meta={"a": "1"})

        await store.create(session)
        listed = await store.fetch_by_user_key(session.user_key)

        assert len(listed) == 1, f"fetch_by_user_key must list the 1 session, got {len(listed)}"
        check_session(listed[0], session, traits, "fetch_by_user_key")

    @contract_test
    async def test_round_trip_keeps_microseconds_in_utc(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        now = utcnow().replace(microsecond=123457)
        session = make_session(
            names.id(),
            names.user(),
            created_at=now - timedelta(microseconds=1),
            expires_at=now + HOUR + timedelta(microseconds=999998),
        )

        await store.create(session)

        check_session(await store.fetch_by_id(session.id), session, traits, "fetch_by_id")

    @contract_test
    async def test_round_trip_of_datetimes_given_in_other_time_zones(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        india = timezone(timedelta(hours=5, minutes=30))
        pacific = timezone(timedelta(hours=-8))
        now = utcnow()
        session = make_session(
            names.id(),
            names.user(),
            created_at=now.astimezone(india),
            expires_at=(now + HOUR).astimezone(pacific),
        )

        await store.create(session)
        got = await store.fetch_by_id(session.id)

        check_session(got, session, traits, "fetch_by_id")

    @contract_test
    async def test_round_trip_of_a_far_future_expiry(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        session = make_session(
            names.id(),
            names.user(),
            created_at=datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=UTC),
            expires_at=datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        )

        await store.create(session)

        check_session(await store.fetch_by_id(session.id), session, traits, "fetch_by_id")

    @pytest.mark.parametrize("ip", list(_IPS.values()), ids=list(_IPS))
    @contract_test
    async def test_round_trip_of_the_client_address(
        self, store: Store, traits: StoreTraits, names: Names, ip: str | None
    ) -> None:
        address = None if ip is None else ipaddress.ip_address(ip)
        session = make_session(names.id(), names.user(), ip=address)

        await store.create(session)

        check_session(await store.fetch_by_id(session.id), session, traits, "fetch_by_id")

    @contract_test
    async def test_round_trip_of_missing_agent_fields(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        user_key = names.user()
        agents = [Agent(), Agent(os="Linux"), Agent(browser="Firefox"), Agent("Tizen", "Сафари")]
        sessions = [make_session(names.id(), user_key, agent=agent) for agent in agents]

        for session in sessions:
            await store.create(session)

        for session in sessions:
            got = await store.fetch_by_id(session.id)
            check_session(got, session, traits, f"fetch_by_id (agent {session.agent})")

    @contract_test
    async def test_round_trip_of_empty_meta(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        session = make_session(names.id(), names.user(), meta={})

        await store.create(session)

        check_session(await store.fetch_by_id(session.id), session, traits, "fetch_by_id")

    @contract_test
    async def test_round_trip_of_unicode_meta(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        meta = {
            "név": "Ünnep",
            "emoji": "🔐👩🏽‍💻",
            "combining": "e\u0301",
            "precomposed": "\u00e9",
            "rtl": "שלום",
            "json": '{"a": [1, "b"]}',
            "quotes": "'\"`",
            "backslash": "a\\b\\",
            "empty": "",
            "spaces": "  padded  ",
        }
        session = make_session(names.id(), names.user(), meta=meta)

        await store.create(session)

        check_session(await store.fetch_by_id(session.id), session, traits, "fetch_by_id")

    @contract_test
    async def test_round_trip_of_meta_at_the_size_limit(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        session = make_session(names.id(), names.user(), meta=_meta_at_the_limit())

        await store.create(session)

        check_session(await store.fetch_by_id(session.id), session, traits, "fetch_by_id")

    @contract_test
    async def test_round_trip_of_the_longest_user_key(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        start = f"{names.token}-"
        filler = "aé键🔑" * MAX_USER_KEY_LENGTH
        user_key = names.raw_user((start + filler)[:MAX_USER_KEY_LENGTH])
        session = make_session(names.id(), user_key)

        await store.create(session)

        check_session(await store.fetch_by_id(session.id), session, traits, "fetch_by_id")
        listed = await ids_of_user(store, user_key)
        assert listed == {session.id}, "fetch_by_user_key must find the session of a long key"

    @contract_test
    async def test_current_is_never_stored(
        self, store: Store, traits: StoreTraits, names: Names
    ) -> None:
        session = make_session(names.id(), names.user(), current=True)

        await store.create(session)
        by_id = await store.fetch_by_id(session.id)
        by_user = await store.fetch_by_user_key(session.user_key)

        assert by_id is not None, "fetch_by_id lost a session created with current=True"
        assert by_id.current is False, (
            "fetch_by_id must return current=False: current belongs to a request, not a store"
        )
        assert [s.current for s in by_user] == [False], (
            "fetch_by_user_key must return current=False for every session"
        )
