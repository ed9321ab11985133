"""End-to-end flows through Starlette, with httpx clients carrying cookies like browsers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from conftest import CHROME_LINUX, FIREFOX_WINDOWS, ClientFactory, get_with_token, starlette_app

from sessionup.core import Manager
from sessionup.core.tokens import token_to_id
from sessionup.stores.memory import MemoryStore


async def test_login_sets_a_secure_cookie_holding_only_a_token(
    manager: Manager, client_for: ClientFactory, store: MemoryStore
) -> None:
    client = client_for(starlette_app(manager))

    response = await client.post("/login", params={"user": "alice"})

    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    name, token = name_value.split("=", 1)
    assert name == "sessionup"
    assert len(token) == 43 and "alice" not in cookie
    assert {"Secure", "HttpOnly", "SameSite=Strict", "Path=/"} <= set(attributes)
    assert any(a.startswith("Max-Age=") for a in attributes)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["vary"] == "Cookie"
    stored = await store.fetch_by_id(token_to_id(token))
    assert stored is not None and stored.user_key == "alice"
    assert await store.fetch_by_id(token) is None, "the raw token must not be the store id"


async def test_private_page_needs_a_session(manager: Manager, client_for: ClientFactory) -> None:
    client = client_for(starlette_app(manager))

    anonymous = await client.get("/private")
    await client.post("/login", params={"user": "alice"})
    logged_in = await client.get("/private")

    assert anonymous.status_code == 401
    assert anonymous.json() == {"error": "unauthorized"}
    assert anonymous.headers["cache-control"] == "no-store"
    assert logged_in.status_code == 200 and logged_in.json() == {"user": "alice"}
    assert logged_in.headers["vary"] == "Cookie"


async def test_session_records_ip_os_browser_and_meta(
    manager: Manager, client_for: ClientFactory
) -> None:
    client = client_for(starlette_app(manager), ip="198.51.100.7", agent=FIREFOX_WINDOWS)

    created = (await client.post("/login", params={"user": "bob", "plan": "pro"})).json()
    seen = (await client.get("/me")).json()

    assert seen["ip"] == "198.51.100.7"
    assert seen["os"] == "Windows" and seen["browser"] == "Firefox"
    assert seen["meta"] == {"plan": "pro"}
    assert seen["current"] is True
    assert seen["id"] == created["id"]


async def test_two_devices_list_both_sessions_each_marking_its_own(
    manager: Manager, client_for: ClientFactory
) -> None:
    app = starlette_app(manager)
    laptop = client_for(app, ip="203.0.113.1", agent=CHROME_LINUX)
    desktop = client_for(app, ip="203.0.113.2", agent=FIREFOX_WINDOWS)
    stranger = client_for(app)
    await laptop.post("/login", params={"user": "alice"})
    await desktop.post("/login", params={"user": "alice"})
    await stranger.post("/login", params={"user": "mallory"})

    from_laptop = (await laptop.get("/sessions")).json()
    from_desktop = (await desktop.get("/sessions")).json()

    assert len(from_laptop) == 2 and len(from_desktop) == 2
    assert {s["ip"] for s in from_laptop} == {"203.0.113.1", "203.0.113.2"}
    current_on_laptop = [s["ip"] for s in from_laptop if s["current"]]
    current_on_desktop = [s["ip"] for s in from_desktop if s["current"]]
    assert current_on_laptop == ["203.0.113.1"]
    assert current_on_desktop == ["203.0.113.2"]


async def test_revoke_other_keeps_the_current_session(
    manager: Manager, client_for: ClientFactory
) -> None:
    app = starlette_app(manager)
    laptop, phone, tablet = client_for(app), client_for(app), client_for(app)
    for device in (laptop, phone, tablet):
        await device.post("/login", params={"user": "alice"})

    revoked = (await laptop.post("/revoke-other")).json()

    assert revoked == {"revoked": 2}
    assert (await laptop.get("/private")).status_code == 200
    assert (await phone.get("/private")).status_code == 401
    assert (await tablet.get("/private")).status_code == 401
    assert len((await laptop.get("/sessions")).json()) == 1


async def test_revoke_all_ends_every_session_and_clears_the_cookie(
    manager: Manager, client_for: ClientFactory
) -> None:
    app = starlette_app(manager)
    laptop, phone = client_for(app), client_for(app)
    await laptop.post("/login", params={"user": "alice"})
    await phone.post("/login", params={"user": "alice"})

    response = await laptop.post("/revoke-all")

    assert response.json() == {"revoked": 2}
    cleared = response.headers["set-cookie"]
    assert cleared.startswith("sessionup=;") and "Max-Age=0" in cleared
    assert "Path=/" in cleared and "1970" in cleared
    assert (await laptop.get("/private")).status_code == 401
    assert (await phone.get("/private")).status_code == 401


async def test_logout_revokes_only_this_session(
    manager: Manager, client_for: ClientFactory
) -> None:
    app = starlette_app(manager)
    laptop, phone = client_for(app), client_for(app)
    await laptop.post("/login", params={"user": "alice"})
    await phone.post("/login", params={"user": "alice"})
    token = laptop.cookies["sessionup"]

    response = await laptop.post("/revoke")

    assert response.json() == {"revoked": True}
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert (await phone.get("/private")).status_code == 200
    replay = client_for(app)
    replay.cookies.set("sessionup", token)
    assert (await replay.get("/private")).status_code == 401, "a revoked token must be dead"


async def test_revoke_by_id_ext_refuses_another_users_session(
    manager: Manager, client_for: ClientFactory
) -> None:
    app = starlette_app(manager)
    alice, alice_phone, mallory = client_for(app), client_for(app), client_for(app)
    await alice.post("/login", params={"user": "alice"})
    phone_id = (await alice_phone.post("/login", params={"user": "alice"})).json()["id"]
    await mallory.post("/login", params={"user": "mallory"})

    forbidden = await mallory.post(f"/revoke/{phone_id}")
    allowed = await alice.post(f"/revoke/{phone_id}")
    again = await alice.post(f"/revoke/{phone_id}")

    assert forbidden.status_code == 403
    assert allowed.json() == {"revoked": True}
    assert again.json() == {"revoked": False}
    assert (await alice_phone.get("/private")).status_code == 401
    assert (await alice.get("/private")).status_code == 200


async def test_login_revokes_the_session_the_request_carried(
    manager: Manager, client_for: ClientFactory
) -> None:
    app = starlette_app(manager)
    client = client_for(app)
    await client.post("/login", params={"user": "alice"})
    old_token = client.cookies["sessionup"]

    await client.post("/login", params={"user": "alice"})

    assert client.cookies["sessionup"] != old_token
    assert len((await client.get("/sessions")).json()) == 1
    replay = client_for(app)
    replay.cookies.set("sessionup", old_token)
    assert (await replay.get("/private")).status_code == 401


async def test_rotate_moves_the_session_to_a_new_token(
    manager: Manager, client_for: ClientFactory
) -> None:
    app = starlette_app(manager)
    client = client_for(app)
    before = (await client.post("/login", params={"user": "alice", "role": "user"})).json()
    old_token = client.cookies["sessionup"]

    after = (await client.post("/rotate")).json()

    assert client.cookies["sessionup"] != old_token
    assert after["id"] != before["id"]
    assert after["created_at"] == before["created_at"]
    assert after["expires_at"] == before["expires_at"]
    assert after["meta"] == {"role": "user"}
    assert (await client.get("/private")).status_code == 200
    replay = client_for(app)
    replay.cookies.set("sessionup", old_token)
    assert (await replay.get("/private")).status_code == 401


async def test_expired_session_is_refused(
    make_manager: type[Manager], client_for: ClientFactory
) -> None:
    manager = make_manager(expires_in=timedelta(milliseconds=300))
    client = client_for(starlette_app(manager))
    await client.post("/login", params={"user": "alice"})
    token = client.cookies["sessionup"]
    assert (await get_with_token(client, "/private", token)).status_code == 200

    await asyncio.sleep(0.4)

    assert (await get_with_token(client, "/private", token)).status_code == 401
    assert (await get_with_token(client, "/me", token)).json() is None


async def test_idle_timeout_slides_expiry_but_never_past_the_absolute_limit(
    make_manager: type[Manager], client_for: ClientFactory, store: MemoryStore
) -> None:
    manager = make_manager(expires_in=timedelta(seconds=2), idle_timeout=timedelta(seconds=0.8))
    client = client_for(starlette_app(manager))
    created = (await client.post("/login", params={"user": "alice"})).json()
    created_at = datetime.fromisoformat(created["created_at"])
    session_id = created["id"]
    token = client.cookies["sessionup"]

    seen, expiries = [], []
    last = created_at
    for _ in range(8):  # used every 0.3 s: idle never runs out, the absolute limit does
        await asyncio.sleep(0.3)
        status = (await get_with_token(client, "/private", token)).status_code
        now = datetime.now(UTC)
        seen.append((now - created_at, now - last, status))
        last = now
        stored = await store.fetch_by_id(session_id)
        if stored is not None:
            expiries.append(stored.expires_at)

    assert datetime.fromisoformat(created["expires_at"]) - created_at == timedelta(seconds=0.8)
    # Judged by the times the requests really ran at, so a slow machine cannot fail it.
    idle_kept = True
    for age, gap, status in seen:
        idle_kept = idle_kept and gap < timedelta(seconds=0.75)
        if idle_kept and age < timedelta(seconds=1.9):
            assert status == 200, seen
        if age > timedelta(seconds=2.05):
            assert status == 401, "the absolute lifetime must end the session"
    assert seen[-1][0] > timedelta(seconds=2.05)
    assert max(expiries) > created_at + timedelta(seconds=0.8), "expiry never slid"
    assert max(expiries) <= created_at + timedelta(seconds=2), "expiry passed the absolute limit"
    assert expiries == sorted(expiries), "expiry must only move forward"


async def test_idle_session_expires_when_unused(
    make_manager: type[Manager], client_for: ClientFactory
) -> None:
    manager = make_manager(idle_timeout=timedelta(seconds=0.3))
    client = client_for(starlette_app(manager))
    await client.post("/login", params={"user": "alice"})
    token = client.cookies["sessionup"]
    assert (await get_with_token(client, "/private", token)).status_code == 200

    await asyncio.sleep(0.45)

    assert (await get_with_token(client, "/private", token)).status_code == 401


async def test_idle_timeout_writes_to_the_store_at_most_once_per_half_window(
    store: MemoryStore, client_for: ClientFactory
) -> None:
    touches: list[datetime] = []
    original = store.touch

    async def counting_touch(id: str, expires_at: datetime) -> bool:
        touches.append(expires_at)
        return await original(id, expires_at)

    store.touch = counting_touch  # type: ignore[method-assign]
    manager = Manager(store, idle_timeout=timedelta(seconds=1))
    client = client_for(starlette_app(manager))
    await client.post("/login", params={"user": "alice"})

    for _ in range(20):  # 20 requests within 0.4 s: still in the first half window
        assert (await client.get("/private")).status_code == 200
    within_first_half = len(touches)
    await asyncio.sleep(0.6)
    for _ in range(5):
        await client.get("/private")

    assert within_first_half == 0
    assert len(touches) == 1


async def test_browser_session_cookie_has_no_max_age_and_store_keeps_24_hours(
    make_manager: type[Manager], client_for: ClientFactory
) -> None:
    manager = make_manager()
    client = client_for(starlette_app(manager))

    response = await client.post("/login", params={"user": "alice"})

    cookie = response.headers["set-cookie"]
    assert "Max-Age" not in cookie and "Expires" not in cookie
    body = response.json()
    lifetime = datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(
        body["created_at"]
    )
    assert lifetime == timedelta(hours=24)


async def test_validation_refuses_another_ip_or_browser(
    make_manager: type[Manager], client_for: ClientFactory
) -> None:
    manager = make_manager(validate=True)
    app = starlette_app(manager)
    owner = client_for(app, ip="203.0.113.1", agent=CHROME_LINUX)
    await owner.post("/login", params={"user": "alice"})
    token = owner.cookies["sessionup"]
    other_ip = client_for(app, ip="203.0.113.99", agent=CHROME_LINUX)
    other_browser = client_for(app, ip="203.0.113.1", agent=FIREFOX_WINDOWS)
    for thief in (other_ip, other_browser):
        thief.cookies.set("sessionup", token)

    assert (await owner.get("/private")).status_code == 200
    assert (await other_ip.get("/private")).status_code == 401
    assert (await other_browser.get("/private")).status_code == 401
    assert (await owner.get("/private")).status_code == 200, "a mismatch must not revoke"


async def test_without_validation_a_copied_cookie_works_elsewhere(
    manager: Manager, client_for: ClientFactory
) -> None:
    app = starlette_app(manager)
    owner = client_for(app, ip="203.0.113.1")
    await owner.post("/login", params={"user": "alice"})
    elsewhere = client_for(app, ip="203.0.113.99", agent=FIREFOX_WINDOWS)
    elsewhere.cookies.set("sessionup", owner.cookies["sessionup"])

    assert (await elsewhere.get("/private")).status_code == 200


async def test_with_ip_and_with_agent_off_record_nothing(
    make_manager: type[Manager], client_for: ClientFactory
) -> None:
    manager = make_manager(with_ip=False, with_agent=False)
    client = client_for(starlette_app(manager))

    body = (await client.post("/login", params={"user": "alice"})).json()

    assert body["ip"] is None and body["os"] is None and body["browser"] is None


async def test_hash_ids_off_stores_the_token_as_id(
    make_manager: type[Manager], client_for: ClientFactory, store: MemoryStore
) -> None:
    manager = make_manager(hash_ids=False)
    client = client_for(starlette_app(manager))

    body = (await client.post("/login", params={"user": "alice"})).json()

    assert body["id"] == client.cookies["sessionup"]
    assert (await client.get("/private")).status_code == 200
    assert await store.fetch_by_id(body["id"]) is not None


@pytest.mark.parametrize("reuse", [True, False])
async def test_cookie_options_reach_the_set_cookie_header(
    make_manager: type[Manager], client_for: ClientFactory, reuse: bool
) -> None:
    manager = make_manager(
        cookie_name="sid",
        domain="example.com",
        path="/app",
        same_site="lax",
        http_only=not reuse,
        expires_in=timedelta(minutes=5),
    )
    client = client_for(starlette_app(manager))

    cookie = (await client.post("/login")).headers["set-cookie"]

    assert cookie.startswith("sid=")
    assert "Domain=example.com" in cookie and "Path=/app" in cookie
    assert "SameSite=Lax" in cookie and "Max-Age=300" in cookie
    assert ("HttpOnly" in cookie) is (not reuse)
    assert "Secure" in cookie
