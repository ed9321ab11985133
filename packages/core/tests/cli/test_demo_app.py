"""The demo app through httpx, on a real SQLite file: accounts, sign-in, the sessions page."""

from __future__ import annotations

import base64
import doctest
import hashlib
import re
import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from sessionup.core import demo
from sessionup.core.demo import app as demo_app_module
from sessionup.core.demo import pages, users

Device = Callable[..., httpx.AsyncClient]
LifespanRunner = Callable[[Any], AbstractAsyncContextManager[None]]
PASSWORD = "correct horse battery"

CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


async def register(client: httpx.AsyncClient, name: str = "alice") -> httpx.Response:
    form = {"username": name, "password": PASSWORD, "confirm": PASSWORD}
    return await client.post("/register", data=form)


async def login(
    client: httpx.AsyncClient, name: str = "alice", password: str = PASSWORD
) -> httpx.Response:
    return await client.post("/login", data={"username": name, "password": password})


def rows(page: str) -> list[tuple[str, str]]:
    """``(kind, html)`` of each session row; kind is ``current`` or ``other``."""
    return re.findall(r'<tr class="(current|other)">(.*?)</tr>', page, re.S)


def revoke_ids(page: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="id" value="([^"]+)">', page)


async def test_a_visitor_is_sent_to_the_login_page(device: Device) -> None:
    visitor = device()

    home = await visitor.get("/")
    private = await visitor.get("/sessions")

    assert (home.status_code, home.headers["location"]) == (303, "/login")
    assert (private.status_code, private.headers["location"]) == (303, "/login?m=expired")
    assert "Sign in" in (await visitor.get("/login")).text


async def test_register_signs_in_with_a_secure_strict_http_only_cookie(device: Device) -> None:
    browser = device()

    answer = await register(browser, "Alice")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/sessions?m=welcome"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("sessionup-demo=")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    page = await browser.get(answer.headers["location"])
    assert page.status_code == 200
    assert "Signed in as <strong>alice</strong>" in page.text
    assert "Your account is ready" in page.text


async def test_sessions_page_lists_each_device_with_ip_os_browser_and_times(
    device: Device,
) -> None:
    laptop = device(ip="198.51.100.20", agent=CHROME_LINUX)
    phone = device(ip="2001:db8::7", agent=SAFARI_IPHONE)
    await register(laptop)
    await login(phone)

    page = (await laptop.get("/sessions")).text

    listed = rows(page)
    assert [kind for kind, _ in listed] == ["current", "other"]
    current, other = listed[0][1], listed[1][1]
    assert "Chrome" in current and "Linux" in current and "198.51.100.20" in current
    assert "This device" in current
    assert "Mobile Safari" in other and "iOS" in other and "2001:db8::7" in other
    assert "This device" not in other
    assert len(re.findall(r"<time datetime=", page)) == 4
    assert "in 1 day" in page
    assert "2 active sessions" in page


async def test_revoking_another_session_signs_that_device_out_on_its_next_request(
    device: Device,
) -> None:
    laptop, phone = device(), device(agent=SAFARI_IPHONE)
    await register(laptop)
    await login(phone)
    (phone_id,) = revoke_ids((await laptop.get("/sessions")).text)

    answer = await laptop.post("/sessions/revoke", data={"id": phone_id})

    assert answer.headers["location"] == "/sessions?m=revoked"
    after = await laptop.get(answer.headers["location"])
    assert [kind for kind, _ in rows(after.text)] == ["current"]
    assert "That session is signed out." in after.text
    locked_out = await phone.get("/sessions")
    assert (locked_out.status_code, locked_out.headers["location"]) == (303, "/login?m=expired")


async def test_revoking_a_session_that_already_ended_says_so(device: Device) -> None:
    laptop, phone = device(), device()
    await register(laptop)
    await login(phone)
    (phone_id,) = revoke_ids((await laptop.get("/sessions")).text)
    await laptop.post("/sessions/revoke", data={"id": phone_id})

    again = await laptop.post("/sessions/revoke", data={"id": phone_id})

    assert again.headers["location"] == "/sessions?m=gone"


async def test_sign_out_others_keeps_only_this_device(device: Device) -> None:
    laptop, phone, tablet = device(), device(), device()
    await register(laptop)
    await login(phone)
    await login(tablet)

    answer = await laptop.post("/sessions/revoke-others")

    assert answer.headers["location"] == "/sessions?m=others&n=2"
    page = (await laptop.get(answer.headers["location"])).text
    assert "Signed out of 2 other sessions." in page
    assert [kind for kind, _ in rows(page)] == ["current"]
    for gone in (phone, tablet):
        assert (await gone.get("/sessions")).status_code == 303


async def test_sign_out_ends_this_session_only(device: Device) -> None:
    laptop, phone = device(), device()
    await register(laptop)
    await login(phone)

    answer = await laptop.post("/logout")

    assert answer.headers["location"] == "/login?m=signed-out"
    assert "Max-Age=0" in answer.headers["set-cookie"] or "1970" in answer.headers["set-cookie"]
    assert (await laptop.get("/sessions")).status_code == 303
    assert (await phone.get("/sessions")).status_code == 200


async def test_sign_out_everywhere_ends_every_session(device: Device) -> None:
    laptop, phone = device(), device()
    await register(laptop)
    await login(phone)

    answer = await laptop.post("/logout-everywhere")

    assert answer.headers["location"] == "/login?m=everywhere"
    assert (await laptop.get("/sessions")).status_code == 303
    assert (await phone.get("/sessions")).status_code == 303
    assert "signed out on every device" in (await laptop.get("/login?m=everywhere")).text


async def test_revoking_own_session_from_the_list_signs_out(device: Device) -> None:
    laptop = device()
    await register(laptop)
    own = re.search(r'name="id" value="([^"]+)"', (await laptop.get("/sessions")).text)
    assert own is None, "the current session must show a badge, not a revoke button"
    other = device()
    await login(other)
    (laptop_id,) = revoke_ids((await other.get("/sessions")).text)

    answer = await laptop.post("/sessions/revoke", data={"id": laptop_id})

    assert answer.headers["location"] == "/login?m=signed-out"
    assert (await laptop.get("/sessions")).status_code == 303


async def test_a_session_of_another_user_cannot_be_revoked(device: Device) -> None:
    alice_laptop, alice_phone, bob = device(), device(), device()
    await register(alice_laptop, "alice")
    await login(alice_phone, "alice")
    await register(bob, "bob")
    (phone_id,) = revoke_ids((await alice_laptop.get("/sessions")).text)

    answer = await bob.post("/sessions/revoke", data={"id": phone_id})

    assert answer.status_code == 403
    assert "belongs to someone else" in answer.text
    assert (await alice_phone.get("/sessions")).status_code == 200


async def test_wrong_password_and_unknown_user_get_the_same_answer(device: Device) -> None:
    first, second = device(), device()
    await register(first)

    wrong = await login(second, "alice", "not the password")
    unknown = await login(second, "nobody", "not the password")

    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password." in wrong.text
    assert "Wrong username or password." in unknown.text
    assert "set-cookie" not in wrong.headers


async def test_login_is_case_insensitive_on_the_username(device: Device) -> None:
    first, second = device(), device()
    await register(first, "alice")

    answer = await login(second, "  ALICE ")

    assert answer.status_code == 303


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"username": "al", "password": PASSWORD, "confirm": PASSWORD}, 400, "3 to 32"),
        ({"username": "a b c", "password": PASSWORD, "confirm": PASSWORD}, 400, "3 to 32"),
        ({"username": "carol", "password": "short", "confirm": "short"}, 400, "at least 8"),
        ({"username": "carol", "password": PASSWORD, "confirm": PASSWORD + "x"}, 400, "differ"),
        ({"username": "alice", "password": PASSWORD, "confirm": PASSWORD}, 409, "taken"),
    ],
)
async def test_register_refuses_bad_accounts(
    device: Device, form: dict[str, str], status: int, message: str
) -> None:
    await register(device(), "alice")

    answer = await device().post("/register", data=form)

    assert answer.status_code == status
    assert message in answer.text
    assert "set-cookie" not in answer.headers


async def test_passwords_are_stored_as_salted_scrypt(device: Device, tmp_path: Path) -> None:
    await register(device(), "alice")
    await register(device(), "bob")

    with sqlite3.connect(tmp_path / "demo-users.db") as db:
        stored = dict(db.execute("SELECT username, password_hash FROM users").fetchall())

    assert set(stored) == {"alice", "bob"}
    assert all(value.startswith("scrypt$") for value in stored.values())
    assert stored["alice"] != stored["bob"]
    assert all(PASSWORD not in value for value in stored.values())
    assert users.verify_password(PASSWORD, stored["alice"])
    assert not users.verify_password(PASSWORD + "!", stored["alice"])


def test_the_default_cost_is_owasps_16_mib_scrypt(tmp_path: Path) -> None:
    accounts = users.UserStore(str(tmp_path / "users.db"))

    accounts.register("alice", PASSWORD)
    with sqlite3.connect(tmp_path / "users.db") as db:
        (stored,) = db.execute("SELECT password_hash FROM users").fetchone()
    accounts.close()

    kind, n, r, p, salt, key = stored.split("$")
    assert (kind, n, r, p) == ("scrypt", "16384", "8", "5")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(key)) == 32


def test_a_hash_keeps_verifying_after_the_cost_changes(tmp_path: Path) -> None:
    path = str(tmp_path / "users.db")
    users.UserStore(path, n=2**10, p=1).register("alice", PASSWORD)

    later = users.UserStore(path, n=2**11, p=2)

    assert later.authenticate("alice", PASSWORD) is not None
    assert later.authenticate("alice", "wrong password") is None
    later.close()


async def test_user_input_is_escaped_in_pages(device: Device) -> None:
    visitor = device()
    hostile = '"><script>alert(1)</script>'

    answer = await login(visitor, hostile, "whatever-password")

    assert "<script>alert(1)</script>" not in answer.text
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text


async def test_notices_never_echo_the_query_string(device: Device) -> None:
    browser = device()
    await register(browser)

    unknown = await browser.get("/login?m=<b>hi</b>")
    counted = await browser.get("/sessions?m=others&n=<b>9</b>")

    assert "<b>" not in unknown.text
    assert "<b>" not in counted.text
    assert "Signed out of 0 other sessions." in counted.text


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://testserver"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
async def test_cross_site_posts_are_refused(device: Device, headers: dict[str, str]) -> None:
    visitor = device()
    await register(visitor, "alice")
    visitor.cookies.clear()

    answer = await visitor.post(
        "/login", data={"username": "alice", "password": PASSWORD}, headers=headers
    )

    assert answer.status_code == 403
    assert "Cross-site form posts are refused." in answer.text
    assert "set-cookie" not in answer.headers


async def test_same_origin_posts_are_accepted(device: Device) -> None:
    visitor = device()
    await register(visitor, "alice")
    visitor.cookies.clear()
    headers = {"origin": "https://testserver", "sec-fetch-site": "same-origin"}

    answer = await visitor.post(
        "/login", data={"username": "alice", "password": PASSWORD}, headers=headers
    )

    assert answer.status_code == 303


async def test_every_page_carries_the_security_headers(device: Device) -> None:
    browser = device()
    await register(browser)

    for path in ("/login", "/register", "/sessions", "/no-such-page"):
        answer = await browser.get(path, follow_redirects=False)
        headers = answer.headers
        assert headers["cache-control"] == "no-store", path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "script-src" not in headers["content-security-policy"]
        assert "default-src 'none'" in headers["content-security-policy"]


def test_the_inline_stylesheet_matches_its_policy_hash() -> None:
    digest = base64.b64encode(hashlib.sha256(pages.CSS.encode()).digest()).decode()

    assert f"'sha256-{digest}'" in pages.CONTENT_SECURITY_POLICY
    assert f"<style>{pages.CSS}</style>" in pages.login_page()


async def test_an_oversized_form_is_refused(device: Device) -> None:
    visitor = device()

    huge = await visitor.post("/login", data={"username": "a" * 20_000, "password": "x"})

    assert huge.status_code == 413


async def test_a_store_failure_answers_503_not_500(
    tmp_path: Path, run_lifespan: LifespanRunner
) -> None:
    broken = f"sqlite:///{tmp_path / 'missing-folder' / 'demo.db'}"
    app = demo.create_app(broken, users=users.UserStore(str(tmp_path / "users.db"), n=2**10))

    async with run_lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            registered = await register(c)
            c.cookies.set("sessionup-demo", "A" * 43, domain="testserver.local")
            page = await c.get("/sessions", headers={"cookie": "sessionup-demo=" + "A" * 43})

    assert registered.status_code == 503
    assert "session store is not answering" in registered.text
    assert page.status_code == 503


@pytest.mark.parametrize("module", [demo, demo_app_module, pages, users])
def test_doctests_of_the_demo(module: object) -> None:
    failures, _ = doctest.testmod(module)  # type: ignore[arg-type]

    assert failures == 0


def test_users_file_sits_next_to_the_sessions_file() -> None:
    assert demo.users_path_for("sqlite:///sessionup-demo.db") == "sessionup-demo-users.db"
    assert demo.users_path_for("sqlite:////var/lib/app/s.sqlite3") == "/var/lib/app/s-users.sqlite3"
    assert demo.users_path_for("redis://localhost/0") == "sessionup-demo-users.db"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("192.0.2.1", False),
        ("example.com", False),
    ],
)
def test_secure_cookies_are_kept_on_loopback_hosts_only(host: str, loopback: bool) -> None:
    assert demo.is_loopback(host) is loopback


async def test_demo_command_serves_the_app(demo_server: Any) -> None:
    async with httpx.AsyncClient(base_url=demo_server.url) as client:
        login_page = await client.get("/login")

    assert login_page.status_code == 200
    assert "Sign in" in login_page.text
    banner = demo_server.log.read_text()
    assert f"sessionup demo on {demo_server.url}/" in banner
    assert "warning" not in banner.lower()
