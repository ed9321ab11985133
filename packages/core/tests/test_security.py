"""Each numbered bad input of the security bar, through a real ASGI app on the memory store.

Every test proves: no session, no store write (the store's size is unchanged and no
``create`` ran), no crash and no 500, and for API calls a typed error naming the problem.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from conftest import CHROME_LINUX, ClientFactory, get_with_token, starlette_app

from sessionup.core import (
    InvalidMetaError,
    InvalidUserKeyError,
    Manager,
    Session,
    session_from_record,
    session_to_record,
)
from sessionup.core.tokens import token_to_id
from sessionup.stores.memory import MemoryStore


class WatchedStore(MemoryStore):
    """A memory store that counts every call, to prove bad input never reached it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def create(self, session: Session) -> None:
        self.calls.append("create")
        await super().create(session)

    async def fetch_by_id(self, id: str) -> Session | None:
        self.calls.append("fetch_by_id")
        return await super().fetch_by_id(id)

    async def delete_by_id(self, id: str) -> bool:
        self.calls.append("delete_by_id")
        return await super().delete_by_id(id)

    async def delete_by_user_key(self, user_key: str, *, except_ids: Collection[str] = ()) -> int:
        self.calls.append("delete_by_user_key")
        return await super().delete_by_user_key(user_key, except_ids=except_ids)

    async def touch(self, id: str, expires_at: datetime) -> bool:
        self.calls.append("touch")
        return await super().touch(id, expires_at)


@pytest.fixture
def watched() -> WatchedStore:
    return WatchedStore()


@pytest.fixture
def app(watched: WatchedStore) -> Any:
    return starlette_app(Manager(watched, expires_in=timedelta(hours=1)))


async def raw_get(
    app: Any, headers: list[tuple[bytes, bytes]], path: str = "/me"
) -> httpx.Response:
    """Send exactly these headers (httpx would merge or re-encode some of them)."""
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("203.0.113.10", 5000),
        "server": ("testserver", 443),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return httpx.Response(sent[0]["status"], headers=sent[0]["headers"], content=body)


async def login(client: httpx.AsyncClient, user: str = "alice") -> str:
    await client.post("/login", params={"user": user})
    return client.cookies["sessionup"]


def assert_anonymous(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.json() is None, f"expected no session, got {response.json()}"


# 1. no cookie; an empty cookie value; a value shorter than a real token
@pytest.mark.parametrize("cookie", [None, b"sessionup=", b'sessionup=""', b"sessionup=abc"])
async def test_1_missing_empty_or_short_cookie_is_no_session(
    app: Any, watched: WatchedStore, cookie: bytes | None
) -> None:
    headers = [] if cookie is None else [(b"cookie", cookie)]

    response = await raw_get(app, headers)

    assert_anonymous(response)
    assert watched.calls == [], "a malformed cookie must be refused before any store call"


# 2. a well-formed token the server never issued
async def test_2_unissued_token_is_no_session_and_writes_nothing(
    app: Any, watched: WatchedStore
) -> None:
    forged = b"A" * 43

    response = await raw_get(app, [(b"cookie", b"sessionup=" + forged)])

    assert_anonymous(response)
    assert watched.calls == ["fetch_by_id"]
    assert len(watched) == 0


# 3. a token of the wrong alphabet or length, rejected before any store call
@pytest.mark.parametrize(
    "token", [b"A" * 42, b"A" * 44, b"A" * 42 + b"+", b"A" * 42 + b"=", b"A" * 300, b"\xe9" * 43]
)
async def test_3_wrong_alphabet_or_length_never_reaches_the_store(
    app: Any, watched: WatchedStore, token: bytes
) -> None:
    response = await raw_get(app, [(b"cookie", b"sessionup=" + token)])

    assert_anonymous(response)
    assert watched.calls == []


# 4. a huge cookie or Cookie header (64 KiB), and a quoted value full of backslashes
@pytest.mark.parametrize(
    "header",
    [
        b"sessionup=" + b"A" * 65536,
        b"; ".join(b"c%d=%s" % (i, b"x" * 50) for i in range(1200)) + b"; sessionup=" + b"B" * 43,
        b'sessionup="' + b"\\" * 65536 + b'"',
        b"sessionup=" + b";" * 65536,
    ],
)
async def test_4_huge_headers_are_handled_in_bounded_time(
    app: Any, watched: WatchedStore, header: bytes
) -> None:
    start = time.perf_counter()

    response = await raw_get(app, [(b"cookie", header)])

    assert_anonymous(response)
    assert time.perf_counter() - start < 1.0, "parsing a 64 KiB header must stay linear"
    assert "create" not in watched.calls


# 5. path tricks in the token
@pytest.mark.parametrize(
    "token", [b"../x", b"a/b", b"a\\b", b"../" * 15, b"%2e%2e%2fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]
)
async def test_5_path_tricks_in_the_token_are_refused(
    app: Any, watched: WatchedStore, token: bytes
) -> None:
    response = await raw_get(app, [(b"cookie", b"sessionup=" + token)])

    assert_anonymous(response)
    assert watched.calls == []


# 6. glob and operator characters in ids and user keys are data
# ("=" is refused in user keys by rule 10; stores take "' OR 1=1--" as data in conformance.)
@pytest.mark.parametrize("user_key", ["*", "?", "[", '{"$ne": ""}', "' OR 1<>2--", "a*b{c}"])
async def test_6_hostile_user_keys_are_data(
    client_for: ClientFactory, watched: WatchedStore, user_key: str
) -> None:
    manager = Manager(watched)
    app = starlette_app(manager)
    victim, attacker = client_for(app), client_for(app)
    await login(victim, "alice")
    await manager.issue(user_key)

    await attacker.post("/login", params={"user": user_key})
    seen = (await attacker.get("/sessions")).json()
    revoked = (await attacker.post("/revoke-all")).json()

    assert {s["user_key"] for s in seen} == {user_key}
    assert revoked == {"revoked": 2}
    assert (await victim.get("/private")).status_code == 200, "another user's session was hit"


async def test_6_hostile_ids_find_nothing(watched: WatchedStore) -> None:
    manager = Manager(watched)
    await manager.issue("alice")

    for hostile in ["*", "?", "[", '{"$ne": ""}', "' OR 1=1--", ""]:
        assert await manager.revoke_by_id(hostile) is False
    assert len(watched) == 1


# 7. the cookie twice with different values, or split over several Cookie headers
async def test_7_two_different_values_mean_no_session(
    client_for: ClientFactory, app: Any, watched: WatchedStore
) -> None:
    token = await login(client_for(app))
    watched.calls.clear()

    one_header = await raw_get(
        app, [(b"cookie", f"sessionup={token}; sessionup={'B' * 43}".encode())]
    )
    reversed_order = await raw_get(
        app, [(b"cookie", f"sessionup={'B' * 43}; sessionup={token}".encode())]
    )
    split = await raw_get(
        app, [(b"cookie", f"sessionup={token}".encode()), (b"cookie", b"sessionup=" + b"B" * 43)]
    )

    for response in (one_header, reversed_order, split):
        assert_anonymous(response)
    assert watched.calls == [], "an ambiguous cookie must not be looked up at all"


async def test_7_the_same_value_twice_and_cookies_split_over_headers_work(
    client_for: ClientFactory, app: Any
) -> None:
    token = await login(client_for(app))

    twice = await raw_get(app, [(b"cookie", f"sessionup={token}; sessionup={token}".encode())])
    split = await raw_get(app, [(b"cookie", b"a=1"), (b"cookie", f"sessionup={token}".encode())])

    assert twice.json()["user_key"] == "alice"
    assert split.json()["user_key"] == "alice"


# 8. a name that only looks like ours
@pytest.mark.parametrize(
    "template",
    [
        "\u00a0sessionup={t}",
        "\u2003sessionup={t}",
        "=sessionup={t}",
        "sessionupx={t}",
        "xsessionup={t}",
        "SESSIONUP={t}",
    ],
)
async def test_8_lookalike_names_do_not_match(
    client_for: ClientFactory, app: Any, template: str
) -> None:
    token = await login(client_for(app))

    response = await raw_get(app, [(b"cookie", template.format(t=token).encode())])

    assert_anonymous(response)


# 9. NUL, CR, LF, tab, non-ASCII and invalid UTF-8 in the cookie
@pytest.mark.parametrize("bad", [b"\x00", b"\r", b"\n", b"\t", "é".encode(), b"\xff\xfe"])
async def test_9_control_and_non_ascii_bytes_are_refused(
    client_for: ClientFactory, app: Any, watched: WatchedStore, bad: bytes
) -> None:
    token = (await login(client_for(app))).encode()
    watched.calls.clear()

    response = await raw_get(app, [(b"cookie", b"sessionup=" + token[:20] + bad + token[21:])])

    assert_anonymous(response)
    assert watched.calls == []


# 10. CR, LF, ';' or '=' in a user key or meta passed to init
@pytest.mark.parametrize("user_key", ["a\rb", "a\nb", "a;b", "a=b", "", "\x00", "x" * 1025])
async def test_10_bad_user_keys_are_rejected_with_a_clear_error(
    manager: Manager, user_key: str
) -> None:
    with pytest.raises(InvalidUserKeyError, match="user key"):
        await manager.issue(user_key)
    assert len(manager.store) == 0  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "meta", [{"k": "a\r\nSet-Cookie: x"}, {"k;": "v"}, {"k": "a=b"}, {"": "v"}]
)
async def test_10_bad_meta_is_rejected_with_a_clear_error(
    manager: Manager, meta: dict[str, str]
) -> None:
    with pytest.raises(InvalidMetaError, match="meta"):
        await manager.issue("alice", meta=meta)
    assert len(manager.store) == 0  # type: ignore[arg-type]


async def test_10_init_with_bad_input_writes_nothing_and_sets_no_cookie(
    watched: WatchedStore, client_for: ClientFactory
) -> None:
    manager = Manager(watched)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            await manager.init(scope, "evil\r\nSet-Cookie: admin=1")
            status = 200
        except InvalidUserKeyError:
            status = 400
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    response = await client_for(manager.public(app)).post("/")

    assert response.status_code == 400
    assert "set-cookie" not in response.headers
    assert watched.calls == []


# 11. meta too large, too many keys, non-string keys or values
@pytest.mark.parametrize(
    "meta",
    [
        {f"k{i}": "v" for i in range(33)},
        {"k": "v" * 4097},
        {1: "v"},
        {"k": 1},
        {"k": None},
        ["not", "a", "mapping"],
    ],
)
async def test_11_oversized_or_non_string_meta_is_rejected_before_any_write(
    watched: WatchedStore, meta: Any
) -> None:
    manager = Manager(watched)

    with pytest.raises(InvalidMetaError):
        await manager.issue("alice", meta=meta)
    assert watched.calls == []


# 12. X-Forwarded-For from an untrusted peer, and garbage from a trusted one
@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.10", b"198.51.100.1", "203.0.113.10"),  # untrusted peer: ignored
        ("10.0.0.2", b"198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", b"198.51.100.1, 10.0.0.9", "198.51.100.1"),  # walks past trusted hops
        ("10.0.0.2", b"6.6.6.6, 198.51.100.1", "198.51.100.1"),  # a spoofed left hop is ignored
        ("10.0.0.2", b"unknown", "10.0.0.2"),
        ("10.0.0.2", b",".join([b"198.51.100.1"] * 1000), "10.0.0.2"),
        ("10.0.0.2", b"[2001:db8::1]", "10.0.0.2"),
        ("10.0.0.2", b"198.51.100.1:443", "10.0.0.2"),
        ("10.0.0.2", b"x" * 65536, "10.0.0.2"),
    ],
)
async def test_12_forwarded_for_is_believed_only_from_trusted_proxies(
    store: MemoryStore, peer: str, forwarded: bytes, expected: str
) -> None:
    manager = Manager(store, trusted_proxies=["10.0.0.0/8"])

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await manager.init(scope, "alice")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    wrapped = manager.public(app)
    scope = {
        "type": "http",
        "headers": [(b"x-forwarded-for", forwarded)],
        "client": (peer, 1),
        "path": "/",
    }
    start = time.perf_counter()

    async def send(message: Any) -> None:
        pass

    await wrapped(scope, None, send)

    (session,) = await store.fetch_by_user_key("alice")
    assert str(session.ip) == expected
    assert time.perf_counter() - start < 0.5


# 13. a missing, empty or enormous User-Agent
@pytest.mark.parametrize("agent", [None, b"", b"Mozilla/5.0 " * 10000, b"\xff\xfe\x00"])
async def test_13_odd_user_agents_still_give_a_session(
    store: MemoryStore, agent: bytes | None
) -> None:
    manager = Manager(store, validate=True)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await manager.init(scope, "alice")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    headers = [] if agent is None else [(b"user-agent", agent)]
    start = time.perf_counter()
    await manager.public(app)(
        {"type": "http", "headers": headers, "client": ("192.0.2.1", 1)}, None, _noop
    )  # type: ignore[arg-type]

    (session,) = await store.fetch_by_user_key("alice")
    assert session.agent.browser is None or len(session.agent.browser) < 100
    assert time.perf_counter() - start < 2.0


async def _noop(message: Any) -> None:
    pass


# 14. a cookie whose session expired (idle or absolute) or was revoked a moment ago
async def test_14_expired_idle_absolute_or_revoked_sessions_are_refused(
    client_for: ClientFactory, store: MemoryStore
) -> None:
    absolute = Manager(store, expires_in=timedelta(milliseconds=200))
    idle = Manager(store, idle_timeout=timedelta(milliseconds=200))
    revoked = Manager(store)
    clients, tokens = {}, {}
    for name, manager in (("absolute", absolute), ("idle", idle), ("revoked", revoked)):
        clients[name] = client_for(starlette_app(manager))
        tokens[name] = await login(clients[name], name)
        assert (await get_with_token(clients[name], "/private", tokens[name])).status_code == 200

    await clients["revoked"].post("/revoke", headers={"cookie": f"sessionup={tokens['revoked']}"})
    await asyncio.sleep(0.3)

    for name, client in clients.items():
        response = await get_with_token(client, "/private", tokens[name])
        assert response.status_code == 401, name


# 15. the old token right after init or rotate
async def test_15_old_token_is_dead_after_init_and_after_rotate(
    client_for: ClientFactory, app: Any
) -> None:
    client = client_for(app)
    first = await login(client)
    await client.post("/login", params={"user": "alice"})
    second = client.cookies["sessionup"]
    await client.post("/rotate")
    third = client.cookies["sessionup"]

    for dead in (first, second):
        assert_anonymous(await raw_get(app, [(b"cookie", f"sessionup={dead}".encode())]))
    alive = await raw_get(app, [(b"cookie", f"sessionup={third}".encode())])
    assert alive.json()["user_key"] == "alice"


# 16. a flood of random tokens: no store growth
async def test_16_a_flood_of_random_tokens_grows_nothing(
    client_for: ClientFactory, app: Any, watched: WatchedStore
) -> None:
    import secrets

    await login(client_for(app))
    watched.calls.clear()

    for _ in range(500):
        token = secrets.token_urlsafe(32).encode()
        assert_anonymous(await raw_get(app, [(b"cookie", b"sessionup=" + token)]))

    assert len(watched) == 1
    assert set(watched.calls) == {"fetch_by_id"}


# 17. a store record tampered with or from an older layout
@pytest.mark.parametrize(
    "change",
    [
        {"v": 0},
        {"v": 99},
        {"created_at": "2020-01-01"},
        {"meta": {"k": 1}},
        {"ip": 12},
        {"user_key": None},
        {"expires_at": 1.5},
    ],
)
def test_17_tampered_or_old_records_are_refused_by_the_decoder(change: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    record = session_to_record(Session("id", "alice", now, now + timedelta(hours=1)))
    record.update(change)

    with pytest.raises(ValueError, match="session record"):
        session_from_record(record)


def test_17_a_record_missing_a_field_is_refused() -> None:
    now = datetime.now(UTC)
    record = session_to_record(Session("id", "alice", now, now + timedelta(hours=1)))
    del record["ip"]

    with pytest.raises(ValueError, match="lacks field"):
        session_from_record(record)


def test_token_digest_is_the_store_id() -> None:
    assert token_to_id("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


async def test_chrome_agent_is_named(store: MemoryStore) -> None:
    manager = Manager(store)
    _, session = await manager.issue("alice", user_agent=CHROME_LINUX)
    assert session.agent.os == "Linux" and session.agent.browser == "Chrome"
