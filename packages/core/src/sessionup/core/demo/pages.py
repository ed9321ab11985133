"""The demo's HTML: plain pages, one inline stylesheet, no scripts.

Every value that comes from a user, a store or a request goes through :func:`e`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Final

from sessionup.core import Session

CSS: Final = """
:root { color-scheme: light; --ink: #1d2433; --muted: #5b6475; --line: #e3e6ee;
  --accent: #3553d6; --accent-ink: #fff; --danger: #b42318; --ok: #067647; --bg: #f5f6fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: var(--bg); }
header { background: #fff; border-bottom: 1px solid var(--line); }
.bar { max-width: 960px; margin: 0 auto; padding: 12px 24px; display: flex;
  align-items: center; gap: 16px; min-height: 58px; }
.brand { font-weight: 700; color: var(--ink); text-decoration: none; margin-right: auto; }
.brand span { color: var(--accent); }
main { max-width: 960px; margin: 32px auto; padding: 0 24px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 28px;
  box-shadow: 0 1px 2px rgba(16, 24, 40, .04); }
.narrow { max-width: 420px; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: 0 0 4px; }
p.lead { color: var(--muted); margin: 0 0 24px; }
label { display: block; font-weight: 600; font-size: .9rem; margin: 16px 0 6px; }
input[type=text], input[type=password] { width: 100%; padding: 10px 12px; font: inherit;
  border: 1px solid #c9cedb; border-radius: 8px; }
input:focus { outline: 2px solid var(--accent); outline-offset: 1px; border-color: transparent; }
button { font: inherit; font-weight: 600; border-radius: 8px; padding: 9px 16px;
  cursor: pointer; border: 1px solid var(--accent); background: var(--accent);
  color: var(--accent-ink); }
button.secondary { background: #fff; color: var(--ink); border-color: #c9cedb; }
button.danger { background: #fff; color: var(--danger); border-color: #f1b9b4; }
button.small { padding: 5px 12px; font-size: .875rem; }
form.inline { display: inline; margin: 0; }
.full { width: 100%; margin-top: 24px; }
.switch { margin: 20px 0 0; text-align: center; color: var(--muted); }
a { color: var(--accent); }
.notice { border-radius: 8px; padding: 10px 14px; margin: 0 0 20px; font-size: .95rem; }
.notice.info { background: #eef4ff; color: #1f3a93; }
.notice.error { background: #fef3f2; color: var(--danger); }
.notice.success { background: #ecfdf3; color: var(--ok); }
table { width: 100%; border-collapse: collapse; margin: 8px 0 24px; }
th, td { text-align: left; padding: 12px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: .78rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
td small { display: block; color: var(--muted); }
tr.current td { background: #f7f9ff; }
.badge { display: inline-block; font-size: .75rem; font-weight: 700; padding: 2px 8px;
  border-radius: 999px; background: #e0e8ff; color: #1f3a93; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9rem; }
.actions { display: flex; flex-wrap: wrap; gap: 12px; }
.who { color: var(--muted); }
"""

#: The Content-Security-Policy of every page: no scripts at all, only this stylesheet.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()}'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

#: Notices shown after a redirect, by the ``m`` query parameter; no request text is echoed.
NOTICES: Final = {
    "signed-out": ("info", "You are signed out."),
    "everywhere": ("info", "You are signed out on every device."),
    "expired": ("info", "Your session has ended; sign in again."),
    "others": ("success", "Signed out of {n} other session{s}."),
    "revoked": ("success", "That session is signed out."),
    "gone": ("info", "That session had already ended."),
    "welcome": ("success", "Welcome! Your account is ready."),
}


def e(value: object) -> str:
    """``value`` as text, HTML-escaped (quotes included)."""
    return escape(str(value), quote=True)


def layout(title: str, body: str, *, user_key: str | None = None) -> str:
    """A whole page around ``body`` (already escaped HTML)."""
    account = ""
    if user_key is not None:
        account = (
            f'<span class="who">Signed in as <strong>{e(user_key)}</strong></span>'
            '<form class="inline" method="post" action="/logout">'
            '<button class="secondary small" type="submit">Sign out</button></form>'
        )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} · sessionup demo</title><style>{CSS}</style></head><body>"
        '<header><div class="bar"><a class="brand" href="/">session<span>up</span> demo</a>'
        f"{account}</div></header><main>{body}</main></body></html>\n"
    )


def notice(kind: str, text: str) -> str:
    """A coloured message box; ``kind`` is ``info``, ``error`` or ``success``."""
    role = "alert" if kind == "error" else "status"
    return f'<div class="notice {e(kind)}" role="{role}">{e(text)}</div>'


def login_page(*, message: str = "", username: str = "") -> str:
    """The sign-in form."""
    body = (
        '<div class="card narrow"><h1>Sign in</h1>'
        '<p class="lead">Sign in from two browsers to see both sessions listed.</p>'
        f"{message}"
        '<form method="post" action="/login">'
        '<label for="username">Username</label>'
        f'<input id="username" name="username" type="text" value="{e(username)}" '
        'autocomplete="username" autocapitalize="none" required maxlength="32" autofocus>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required maxlength="1024">'
        '<button class="full" type="submit">Sign in</button></form>'
        '<p class="switch">No account yet? <a href="/register">Create one</a></p></div>'
    )
    return layout("Sign in", body)


def register_page(*, message: str = "", username: str = "") -> str:
    """The account creation form."""
    body = (
        '<div class="card narrow"><h1>Create an account</h1>'
        '<p class="lead">Accounts live in a small SQLite file next to the sessions.</p>'
        f"{message}"
        '<form method="post" action="/register">'
        '<label for="username">Username</label>'
        f'<input id="username" name="username" type="text" value="{e(username)}" '
        'autocomplete="username" autocapitalize="none" required minlength="3" maxlength="32" '
        'pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{2,31}" autofocus>'
        '<label for="password">Password (8 characters or more)</label>'
        '<input id="password" name="password" type="password" autocomplete="new-password" '
        'required minlength="8" maxlength="1024">'
        '<label for="confirm">Password again</label>'
        '<input id="confirm" name="confirm" type="password" autocomplete="new-password" '
        'required minlength="8" maxlength="1024">'
        '<button class="full" type="submit">Create account</button></form>'
        '<p class="switch">Have an account? <a href="/login">Sign in</a></p></div>'
    )
    return layout("Create an account", body)


def sessions_page(
    user_key: str,
    sessions: Sequence[Session],
    *,
    message: str = "",
    now: datetime,
    lifetime: str = "",
) -> str:
    """The private page: every live session of the user, each with its revoke button.

    ``lifetime`` is a sentence on when sessions end, shown under the title.
    """
    ordered = sorted(sessions, key=lambda s: (not s.current, -s.created_at.timestamp()))
    rows = "".join(_session_row(s, now) for s in ordered)
    others = sum(not s.current for s in sessions)
    count = len(sessions)
    body = (
        '<div class="card">'
        "<h1>Your sessions</h1>"
        f'<p class="lead">{count} active session{"s" if count != 1 else ""}. '
        f"{e(lifetime)} Signing a session out ends it at once, on every server sharing "
        "the store.</p>"
        f"{message}"
        "<table><thead><tr><th>Device</th><th>IP address</th><th>Signed in</th>"
        f"<th>Expires</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        '<div class="actions">'
        '<form class="inline" method="post" action="/sessions/revoke-others">'
        f'<button class="secondary" type="submit"{" disabled" if not others else ""}>'
        f"Sign out {others} other session{'s' if others != 1 else ''}</button></form>"
        '<form class="inline" method="post" action="/logout">'
        '<button class="secondary" type="submit">Sign out</button></form>'
        '<form class="inline" method="post" action="/logout-everywhere">'
        '<button class="danger" type="submit">Sign out everywhere</button></form>'
        "</div></div>"
    )
    return layout("Your sessions", body, user_key=user_key)


def _session_row(session: Session, now: datetime) -> str:
    browser = session.agent.browser or "Unknown browser"
    system = session.agent.os or "unknown OS"
    if session.current:
        action = '<span class="badge">This device</span>'
    else:
        action = (
            '<form class="inline" method="post" action="/sessions/revoke">'
            f'<input type="hidden" name="id" value="{e(session.id)}">'
            '<button class="danger small" type="submit">Sign out</button></form>'
        )
    return (
        f'<tr class="{"current" if session.current else "other"}">'
        f"<td><strong>{e(browser)}</strong><small>on {e(system)}</small></td>"
        f'<td class="mono">{e(session.ip or "unknown")}</td>'
        f"<td>{_moment(session.created_at, now)}</td>"
        f"<td>{_moment(session.expires_at, now)}</td>"
        f"<td>{action}</td></tr>"
    )


def _moment(value: datetime, now: datetime) -> str:
    stamp = value.astimezone(UTC)
    return (
        f'<time datetime="{e(stamp.isoformat())}">{e(stamp.strftime("%Y-%m-%d %H:%M"))} UTC'
        f"</time><small>{e(relative(value, now))}</small>"
    )


def relative(value: datetime, now: datetime) -> str:
    """A short human distance: ``"just now"``, ``"5 minutes ago"``, ``"in 7 days"``.

    >>> from datetime import timedelta
    >>> t = datetime(2030, 1, 1, tzinfo=UTC)
    >>> relative(t + timedelta(days=7), t), relative(t - timedelta(minutes=5), t)
    ('in 7 days', '5 minutes ago')
    """
    seconds = (value - now).total_seconds()
    size = abs(seconds)
    if size < 45:
        return "just now"
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if size >= length * 0.95:
            amount = round(size / length)
            text = f"{amount} {unit}{'s' if amount != 1 else ''}"
            return f"in {text}" if seconds > 0 else f"{text} ago"
    return "in 1 minute" if seconds > 0 else "1 minute ago"


def error_page(status: int, title: str, text: str, *, user_key: str | None = None) -> str:
    """A page for a refused or failed request."""
    body = (
        f'<div class="card narrow"><h1>{e(title)}</h1><p class="lead">{e(text)}</p>'
        '<p><a href="/">Back to the demo</a></p></div>'
    )
    return layout(f"{status} {title}", body, user_key=user_key)
