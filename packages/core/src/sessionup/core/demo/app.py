"""The demo's Starlette app: accounts, sign-in, and the page of a user's sessions."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sessionup.core import (
    Manager,
    NotOwnerError,
    RequestState,
    StoreError,
    Unauthorized,
    current_session,
    open_store,
)

from . import pages
from .users import AccountError, UserStore

logger = logging.getLogger(__name__)

#: The session cookie's name; not the library default, so the demo cannot clobber the
#: cookie of another app on the same host.
COOKIE_NAME: Final = "sessionup-demo"
#: Absolute lifetime of a demo session, and how long one may sit unused.
EXPIRES_IN: Final = timedelta(days=7)
IDLE_TIMEOUT: Final = timedelta(days=1)
LIFETIME_NOTE: Final = "A session ends after a day unused, or a week after signing in."
#: Largest form body accepted, in bytes.
MAX_FORM_BYTES: Final = 16 * 1024
#: Longest session id accepted from a form.
MAX_ID_LENGTH: Final = 512


def users_path_for(store_url: str) -> str:
    """Where the accounts live for ``store_url``: next to a SQLite file, in memory for an
    in-memory store, else ``sessionup-demo-users.db`` in the current directory.

    >>> users_path_for("sqlite:///data/demo.db")
    'data/demo-users.db'
    >>> users_path_for("sqlite:////srv/demo.db?busy_timeout=5")
    '/srv/demo-users.db'
    >>> users_path_for("memory://"), users_path_for("sqlite:///:memory:")
    (':memory:', ':memory:')
    """
    parts = urlsplit(store_url)
    scheme = parts.scheme.lower()
    if scheme == "memory":
        return ":memory:"
    if scheme != "sqlite":
        return "sessionup-demo-users.db"
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if path in ("", ":memory:"):
        return ":memory:"
    file = Path(path)
    return str(file.with_name(f"{file.stem}-users{file.suffix or '.db'}"))


class Demo:
    """The demo's handlers, around one manager and one account table."""

    def __init__(self, manager: Manager, users: UserStore) -> None:
        self.manager = manager
        self.users = users

    async def home(self, request: Request) -> Response:
        target = "/sessions" if current_session(request) else "/login"
        return RedirectResponse(target, status_code=303)

    async def login_form(self, request: Request) -> Response:
        if current_session(request):
            return RedirectResponse("/sessions", status_code=303)
        return _html(pages.login_page(message=_notice(request)))

    async def login(self, request: Request) -> Response:
        form = await _form(request)
        username, password = _field(form, "username"), _field(form, "password")
        user = await run_in_threadpool(self.users.authenticate, username, password)
        if user is None:
            message = pages.notice("error", "Wrong username or password.")
            return _html(pages.login_page(message=message, username=username), 401)
        await self.manager.init(request, user.username)
        return RedirectResponse("/sessions", status_code=303)

    async def register_form(self, request: Request) -> Response:
        if current_session(request):
            return RedirectResponse("/sessions", status_code=303)
        return _html(pages.register_page())

    async def register(self, request: Request) -> Response:
        form = await _form(request)
        username, password = _field(form, "username"), _field(form, "password")
        try:
            if password != _field(form, "confirm"):
                raise AccountError("The two passwords differ.")
            user = await run_in_threadpool(self.users.register, username, password)
        except AccountError as exc:
            message = pages.notice("error", str(exc))
            status = 409 if "taken" in str(exc) else 400
            return _html(pages.register_page(message=message, username=username), status)
        await self.manager.init(request, user.username)
        return RedirectResponse("/sessions?m=welcome", status_code=303)

    async def sessions(self, request: Request) -> Response:
        session = current_session(request)
        if session is None:
            return _signed_out(request)
        listed = await self.manager.fetch_all(request)
        page = pages.sessions_page(
            session.user_key,
            listed,
            message=_notice(request),
            now=datetime.now(UTC),
            lifetime=LIFETIME_NOTE,
        )
        return _html(page)

    async def revoke(self, request: Request) -> Response:
        session = current_session(request)
        if session is None:
            return _signed_out(request)
        session_id = _field(await _form(request), "id")
        if not session_id or len(session_id) > MAX_ID_LENGTH:
            raise HTTPException(400, "The form names no session to sign out.")
        try:
            revoked = await self.manager.revoke_by_id_ext(request, session_id)
        except NotOwnerError:
            raise HTTPException(403, "That session belongs to someone else.") from None
        if session_id == session.id:
            return RedirectResponse("/login?m=signed-out", status_code=303)
        return RedirectResponse(f"/sessions?m={'revoked' if revoked else 'gone'}", status_code=303)

    async def revoke_others(self, request: Request) -> Response:
        if current_session(request) is None:
            return _signed_out(request)
        count = await self.manager.revoke_other(request)
        return RedirectResponse(f"/sessions?m=others&n={count}", status_code=303)

    async def logout(self, request: Request) -> Response:
        await self.manager.revoke(request)
        return RedirectResponse("/login?m=signed-out", status_code=303)

    async def logout_everywhere(self, request: Request) -> Response:
        if current_session(request) is None:
            return _signed_out(request)
        await self.manager.revoke_all(request)
        return RedirectResponse("/login?m=everywhere", status_code=303)


def _html(page: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(page, status_code=status)


def _signed_out(request: Request) -> Response:
    """The answer to a private page without a session: the login page, or 503 when the
    session store is what failed."""
    state = request.scope.get("sessionup")
    if isinstance(state, RequestState) and state.reason == "store_error":
        return _unavailable()
    return RedirectResponse("/login?m=expired", status_code=303)


def _unavailable() -> Response:
    text = "The session store is not answering. Try again in a moment."
    return _html(pages.error_page(503, "Service unavailable", text), 503)


def _notice(request: Request) -> str:
    code = request.query_params.get("m", "")
    if code not in pages.NOTICES:
        return ""
    kind, text = pages.NOTICES[code]
    if "{n}" in text:
        raw = request.query_params.get("n", "0")
        n = int(raw) if raw.isdigit() and len(raw) < 6 else 0
        text = text.format(n=n, s="" if n == 1 else "s")
    return pages.notice(kind, text)


async def _form(request: Request) -> FormData:
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise HTTPException(411, "Forms must be sent with a Content-Length.")
    if int(length) > MAX_FORM_BYTES:
        raise HTTPException(413, "That form is too large.")
    return await request.form(max_files=0, max_fields=8)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    session = current_session(request)
    titles = {400: "Bad request", 403: "Forbidden", 404: "Not found", 405: "Not allowed"}
    title = titles.get(exc.status_code, "Request refused")
    page = pages.error_page(exc.status_code, title, str(exc.detail), user_key=_owner(session))
    return _html(page, exc.status_code)


async def _store_error(request: Request, exc: Exception) -> Response:
    logger.error("demo: session store failed: %s", exc)
    return _unavailable()


async def _unauthorized(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/login?m=expired", status_code=303)


def _owner(session: object) -> str | None:
    user_key = getattr(session, "user_key", None)
    return user_key if isinstance(user_key, str) else None


class Guard:
    """Refuses cross-site form posts and sets the security headers of every response.

    The session cookie is ``SameSite=Strict``, which already keeps other sites' posts from
    carrying it; checking ``Origin`` also stops login CSRF, where no cookie is involved.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD") and not _same_origin(scope):
            page = pages.error_page(403, "Forbidden", "Cross-site form posts are refused.")
            await _html(page, 403)(scope, receive, _secured(send))
            return
        await self.app(scope, receive, _secured(send))


def _same_origin(scope: Scope) -> bool:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is None:
        # Not a browser, or one too old to say; SameSite=Strict still guards the cookie.
        return True
    host = headers.get("host")
    return host is not None and origin == f"{scope['scheme']}://{host}"


_SECURITY_HEADERS: Final = [
    (b"content-security-policy", pages.CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def _secured(send: Send) -> Send:
    async def send_secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            if not any(name.lower() == b"cache-control" for name, _ in headers):
                # Every page shows or depends on who is signed in.
                headers.append((b"cache-control", b"no-store"))
            message = {**message, "headers": headers + _SECURITY_HEADERS}
        await send(message)

    return send_secured


def create_app(store_url: str, *, users: UserStore | None = None, secure: bool = True) -> ASGIApp:
    """The demo as an ASGI app, sessions in ``store_url``.

    :param users: the accounts; by default a :class:`UserStore` on :func:`users_path_for`.
    :param secure: mark the cookie ``Secure``. Browsers accept that over plain HTTP only
        from ``localhost`` and loopback addresses.
    :raises StoreNotFoundError: if no installed store serves the URL's scheme.
    """
    store = open_store(store_url)
    manager = Manager(
        store,
        cookie_name=COOKIE_NAME,
        secure=secure,
        same_site="strict",
        expires_in=EXPIRES_IN,
        idle_timeout=IDLE_TIMEOUT,
    )
    accounts = users if users is not None else UserStore(users_path_for(store_url))
    demo = Demo(manager, accounts)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            accounts.close()

    routes = [
        Route("/", demo.home),
        Route("/login", demo.login_form, methods=["GET"]),
        Route("/login", demo.login, methods=["POST"]),
        Route("/register", demo.register_form, methods=["GET"]),
        Route("/register", demo.register, methods=["POST"]),
        Route("/sessions", demo.sessions, methods=["GET"]),
        Route("/sessions/revoke", demo.revoke, methods=["POST"]),
        Route("/sessions/revoke-others", demo.revoke_others, methods=["POST"]),
        Route("/logout", demo.logout, methods=["POST"]),
        Route("/logout-everywhere", demo.logout_everywhere, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            HTTPException: _http_error,
            StoreError: _store_error,
            Unauthorized: _unauthorized,
        },
    )
    return manager.public(Guard(app))
