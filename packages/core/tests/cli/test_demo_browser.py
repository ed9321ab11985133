"""The demo in a real Chromium: two browser contexts of one user, one revokes the other.

Debian's Chromium is driven by Playwright through ``executable_path``; Playwright downloads
no browser. Without Chromium or Playwright the test fails under CI and skips elsewhere.
Set ``SESSIONUP_SCREENSHOTS=1`` to write the pages' screenshots into ``docs/screenshots``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("SESSIONUP_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[4] / "docs" / "screenshots"
PASSWORD = "correct horse battery"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser test must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        unavailable(
            f"no Chromium at {CHROMIUM}: apt-get install -y chromium, or set SESSIONUP_CHROMIUM"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable(
            "playwright is not installed: pip install playwright (it needs no browser download)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS, timeout=60_000
        )
        yield browser
        browser.close()


def desktop_agent(browser: Browser) -> str:
    """The User-Agent of this Chromium when it runs with a window (headless says so)."""
    major = browser.version.split(".")[0]
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Safari/537.36"
    )


def screenshot(page: Page, name: str) -> None:
    if os.environ.get("SESSIONUP_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")


def test_revoking_the_other_browser_signs_it_out_on_its_next_request(
    chromium: Browser, demo_server: Any
) -> None:
    from playwright.sync_api import expect

    base = demo_server.url
    laptop = chromium.new_context(
        viewport={"width": 1100, "height": 700}, user_agent=desktop_agent(chromium)
    )
    phone = chromium.new_context(viewport={"width": 1100, "height": 700}, user_agent=IPHONE)
    try:
        first = laptop.new_page()
        first.goto(f"{base}/")
        expect(first).to_have_url(f"{base}/login")
        expect(first.locator("h1")).to_have_text("Sign in")
        screenshot(first, "demo-login.png")

        first.click("text=Create one")
        first.fill("#username", "alice")
        first.fill("#password", PASSWORD)
        first.fill("#confirm", PASSWORD)
        first.click("button:has-text('Create account')")
        expect(first).to_have_url(f"{base}/sessions?m=welcome")
        (cookie,) = laptop.cookies()
        assert cookie["name"] == "sessionup-demo"
        assert cookie["secure"] is True, "Chromium must keep a Secure cookie from 127.0.0.1"
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"

        second = phone.new_page()
        sign_in(second, base)
        expect(second).to_have_url(f"{base}/sessions")
        expect(second.locator("tbody tr")).to_have_count(2)

        first.goto(f"{base}/sessions")
        rows = first.locator("tbody tr")
        expect(rows).to_have_count(2)
        expect(first.locator("tr.current")).to_contain_text("This device")
        expect(first.locator("tr.current")).to_contain_text("Chrome")
        expect(first.locator("tr.other")).to_contain_text("Mobile Safari")
        expect(first.locator("tr.other")).to_contain_text("iOS")
        expect(rows.nth(0)).to_contain_text("127.0.0.1")
        screenshot(first, "demo-sessions.png")

        first.click("tr.other button:has-text('Sign out')")
        expect(first).to_have_url(f"{base}/sessions?m=revoked")
        expect(first.locator("tbody tr")).to_have_count(1)
        expect(first.locator("[role=status]")).to_have_text("That session is signed out.")

        second.reload()
        expect(second).to_have_url(re.compile(re.escape(f"{base}/login?m=expired")))
        expect(second.locator("[role=status]")).to_have_text(
            "Your session has ended; sign in again."
        )
        expect(second.locator("h1")).to_have_text("Sign in")

        first.reload()
        expect(first.locator("tbody tr")).to_have_count(1)
    finally:
        laptop.close()
        phone.close()


def test_sign_out_everywhere_from_one_browser_ends_both(
    chromium: Browser, demo_server: Any
) -> None:
    from playwright.sync_api import expect

    base = demo_server.url
    laptop, phone = chromium.new_context(), chromium.new_context(user_agent=IPHONE)
    try:
        first = laptop.new_page()
        first.goto(f"{base}/register")
        first.fill("#username", "alice")
        first.fill("#password", PASSWORD)
        first.fill("#confirm", PASSWORD)
        first.click("button:has-text('Create account')")
        second = phone.new_page()
        sign_in(second, base)
        expect(second.locator("tbody tr")).to_have_count(2)

        second.click("button:has-text('Sign out everywhere')")
        expect(second).to_have_url(f"{base}/login?m=everywhere")

        first.goto(f"{base}/sessions")
        expect(first).to_have_url(f"{base}/login?m=expired")
        assert phone.cookies() == [], "the cookie is cleared in the browser that signed out"
    finally:
        laptop.close()
        phone.close()
