"""Unit tests of the building blocks: sessions, tokens, cookies, identification, options."""

from __future__ import annotations

import asyncio
import ipaddress
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sessionup.core import (
    ConfigError,
    Manager,
    Session,
    StoreURLError,
    coerce_options,
    session_from_record,
    session_to_record,
)
from sessionup.core.cookies import check_cookie_options, read_cookie
from sessionup.core.identity import client_ip, parse_agent, parse_networks
from sessionup.core.session import Agent, check_meta, datetime_to_micros, micros_to_datetime
from sessionup.core.tokens import checked_generator, generate_token, is_well_formed
from sessionup.stores.memory import MemoryStore

NOW = datetime(2026, 12, 3, 9, 30, 15, 123456, tzinfo=UTC)


def test_session_converts_other_time_zones_to_utc() -> None:
    paris = timezone(timedelta(hours=1))

    session = Session("i", "u", NOW.astimezone(paris), NOW.astimezone(paris) + timedelta(hours=1))

    assert session.created_at.tzinfo is UTC
    assert session.created_at == NOW


def test_session_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Session("i", "u", datetime(2026, 1, 1), NOW)


def test_session_meta_is_read_only() -> None:
    session = Session("i", "u", NOW, NOW, meta={"a": "b"})

    with pytest.raises(TypeError):
        session.meta["a"] = "c"  # type: ignore[index]


def test_with_current_copies_every_field() -> None:
    session = Session(
        "i", "u", NOW, NOW, ipaddress.ip_address("::1"), Agent("Linux", "Chrome"), {"a": "b"}
    )

    marked = session.with_current()

    assert marked.current is True and session.current is False
    assert marked == session  # current is not part of equality
    assert (marked.id, marked.user_key, marked.ip, marked.agent, dict(marked.meta)) == (
        "i",
        "u",
        ipaddress.ip_address("::1"),
        Agent("Linux", "Chrome"),
        {"a": "b"},
    )


def test_record_round_trip_is_exact_to_the_microsecond() -> None:
    session = Session(
        "i",
        "ü",
        NOW,
        NOW + timedelta(microseconds=1),
        ipaddress.ip_address("2001:db8::1"),
        Agent(None, "Firefox"),
        {"k": "vé"},
    )

    back = session_from_record(session_to_record(session))

    assert back == session
    assert back.expires_at.microsecond == 123457


def test_micros_round_trip_before_and_after_the_epoch() -> None:
    for moment in (NOW, datetime(1960, 5, 1, 0, 0, 0, 1, tzinfo=UTC)):
        assert micros_to_datetime(datetime_to_micros(moment)) == moment


def test_meta_limits_accept_exactly_the_limit() -> None:
    assert len(check_meta({f"k{i}": "v" for i in range(32)})) == 32
    assert check_meta({"k": "v" * 4095})["k"] == "v" * 4095


def test_default_tokens_are_43_urlsafe_characters_and_unique() -> None:
    tokens = {generate_token() for _ in range(1000)}

    assert len(tokens) == 1000
    assert all(len(t) == 43 and is_well_formed(t) for t in tokens)


@pytest.mark.parametrize("bad", ["short", "a" * 21, "a+b/c=" * 10, "x" * 257, 12345])
def test_custom_generator_output_is_checked(bad: object) -> None:
    generate = checked_generator(lambda: bad)  # type: ignore[arg-type, return-value]

    with pytest.raises(ConfigError, match="gen_id"):
        generate()


async def test_custom_generator_tokens_work_end_to_end() -> None:
    manager = Manager(MemoryStore(), gen_id=lambda: "custom-token-" + "x" * 20)

    token, _ = await manager.issue("alice")

    assert token == "custom-token-" + "x" * 20
    assert (await manager.authenticate(token)) is not None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cookie_name": "bad name"}, "cookie_name"),
        ({"cookie_name": "a;b"}, "cookie_name"),
        ({"cookie_name": "sessión"}, "cookie_name"),
        ({"domain": "ex ample.com"}, "domain"),
        ({"domain": "example.com;x=y"}, "domain"),
        ({"path": "/a;b"}, "path"),
        ({"path": "/a b"}, "path"),
        ({"path": "/a,b"}, "path"),
        ({"path": "nope"}, "path"),
        ({"path": "/é"}, "path"),
        ({"same_site": "loose"}, "same_site"),
        ({"same_site": "none", "secure": False}, "requires secure"),
        ({"cookie_name": "__Secure-sid", "secure": False}, "__Secure-"),
        ({"cookie_name": "__Host-sid", "domain": "example.com"}, "__Host-"),
        ({"cookie_name": "__Host-sid", "path": "/app"}, "__Host-"),
        ({"cookie_name": "__Host-sid", "secure": False}, "__Host-"),
        ({"expires_in": timedelta(0)}, "expires_in"),
        ({"idle_timeout": 30}, "idle_timeout"),
        ({"trusted_proxies": ["not-an-ip"]}, "trusted_proxies"),
        ({"trusted_proxies": "10.0.0.0/8"}, "trusted_proxies"),
    ],
)
def test_manager_refuses_bad_options_at_construction(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Manager(MemoryStore(), **options)  # type: ignore[arg-type]


def test_host_prefix_with_its_rules_is_accepted() -> None:
    check_cookie_options("__Host-sid", domain=None, path="/", secure=True, same_site="strict")


def test_clone_refuses_unknown_options() -> None:
    with pytest.raises(ConfigError, match="unknown Manager option"):
        Manager(MemoryStore()).clone(colour="blue")


def test_read_cookie_takes_quoted_values_and_ignores_other_names() -> None:
    headers = [(b"cookie", b'a=1; sessionup="tok"; b=2')]

    assert read_cookie(headers, b"sessionup") == ("ok", b"tok")
    assert read_cookie(headers, b"c") == ("absent", b"")
    assert read_cookie([(b"cookie", b"sessionup=x; sessionup=y")], b"sessionup") == (
        "ambiguous",
        b"",
    )


def test_trusted_proxies_take_addresses_and_networks() -> None:
    networks = parse_networks(["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"])
    scope = {"client": ("2001:db8::5", 1), "headers": [(b"x-forwarded-for", b"198.51.100.4")]}

    assert len(networks) == 3
    assert str(client_ip(scope, networks)) == "198.51.100.4"


def test_client_ip_is_none_for_a_non_ip_peer() -> None:
    assert client_ip({"client": ("unix-socket", 0), "headers": []}, ()) is None
    assert client_ip({"client": None, "headers": []}, ()) is None


def test_agents_are_parsed_and_unknown_ones_give_none() -> None:
    assert parse_agent("") == Agent()
    assert parse_agent("definitely not a browser") == Agent(None, None)
    iphone = parse_agent(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
    )
    assert iphone == Agent("iOS", "Mobile Safari")


def test_coerce_options_converts_and_names_bad_ones() -> None:
    spec = {"size": int, "fast": bool, "wait": timedelta, "ratio": float, "name": str}

    good = coerce_options(
        "x", {"size": "5", "fast": "yes", "wait": "1.5", "ratio": 2, "name": "n"}, spec
    )

    assert good == {
        "size": 5,
        "fast": True,
        "wait": timedelta(seconds=1.5),
        "ratio": 2.0,
        "name": "n",
    }
    with pytest.raises(StoreURLError, match="unknown option 'colour'"):
        coerce_options("x", {"colour": "red"}, spec)
    with pytest.raises(StoreURLError, match=r"'size'.*int"):
        coerce_options("x", {"size": "many"}, spec)
    with pytest.raises(StoreURLError, match=r"'size'.*int"):
        coerce_options("x", {"size": True}, spec)
    with pytest.raises(StoreURLError, match="'fast'"):
        coerce_options("x", {"fast": "perhaps"}, spec)


async def test_memory_sweeper_removes_expired_sessions_and_stops_on_close() -> None:
    store = MemoryStore(sweep_interval=timedelta(milliseconds=50))
    await store.open()
    past = datetime.now(UTC) - timedelta(seconds=1)
    await store.create(
        Session("old", "u", past - timedelta(hours=1), past + timedelta(milliseconds=1100))
    )
    await store.create(Session("new", "u", past, past + timedelta(hours=1)))
    assert len(store) == 2

    await asyncio.sleep(0.35)
    swept = len(store)
    await store.close()

    assert swept == 1
    assert store._sweeper is None
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "sessionup-memory-sweep"]
    assert tasks == []


async def test_memory_store_drops_expired_sessions_when_met() -> None:
    store = MemoryStore()
    past = datetime.now(UTC) - timedelta(seconds=1)
    await store.create(Session("gone", "u", past - timedelta(hours=1), past))

    assert await store.fetch_by_user_key("u") == []
    assert len(store) == 0


def test_memory_store_from_url_checks_options() -> None:
    from sessionup.core import open_store

    assert open_store("memory://?sweep_interval=2")._sweep_interval == timedelta(seconds=2)  # type: ignore[attr-defined]
    with pytest.raises(StoreURLError, match="unknown option 'bogus'"):
        open_store("memory://?bogus=1")


def test_an_option_given_in_the_url_and_as_an_argument_is_refused() -> None:
    from sessionup.core import open_store

    with pytest.raises(StoreURLError, match="both in the URL and as arguments: sweep_interval"):
        open_store("memory://?sweep_interval=2", sweep_interval=timedelta(seconds=3))
