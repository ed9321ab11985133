"""ASGI plumbing: the wrappers behind ``manager.public`` and ``manager.auth``."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, Final

from .errors import StoreError, Unauthorized
from .identity import client_ip, user_agent
from .manager import SCOPE_KEY, RequestState

if TYPE_CHECKING:
    from .manager import Manager

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger(__name__)

_LIFESPAN_KEY: Final = "sessionup.lifespan"
_VARY: Final = b"vary"
_COOKIE: Final = b"Cookie"
_NO_STORE: Final = (b"cache-control", b"no-store")
_VARY_COOKIE: Final = (_VARY, _COOKIE)


class SessionMiddleware:
    """Loads the request's session into ``scope["sessionup"]`` and writes cookies back.

    With ``required`` a request without a live session never reaches the app: it is
    answered by ``manager.reject(error)``. Nested inside another wrapper for the same
    cookie and store, it reuses what the outer one loaded: one store lookup per request.
    """

    def __init__(self, app: ASGIApp, manager: Manager, *, required: bool) -> None:
        self.app = app
        self.manager = manager
        self.required = required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            if kind == "lifespan":
                await self._lifespan(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return

        manager = self.manager
        outer = scope.get(SCOPE_KEY)
        if outer is not None and outer.manager._share_key == manager._share_key:
            await self._reuse(outer, scope, receive, send)
            return

        try:
            state = await manager._load(scope)
        except StoreError as exc:
            what = "rejecting the request" if self.required else "going on without a session"
            logger.error("session store failed, %s: %r", what, exc)
            state = RequestState(manager, error=exc)
            manager._rejected(state, "store_error", scope)
            if self.required:
                await manager.reject(exc)(scope, receive, send)
                return
        scope[SCOPE_KEY] = state

        if self.required and state.session is None:
            await manager.reject(Unauthorized(state.reason or "no_session"))(scope, receive, send)
            return
        await self.app(scope, receive, _headers_writer(state, send))

    async def _reuse(self, state: RequestState, scope: Scope, receive: Receive, send: Send) -> None:
        # The outer wrapper already writes headers; an inner one may only be stricter.
        manager = self.manager
        session = state.session
        if self.required and session is None:
            error = state.error or Unauthorized(state.reason or "no_session")
            await manager.reject(error)(scope, receive, send)
            return
        if (
            session is not None
            and manager.validate
            and not state.manager.validate
            and not manager._same_client(
                session, client_ip(scope, manager._networks), user_agent(scope)
            )
        ):
            # The stricter wrapper's verdict holds for the rest of the request.
            state.session = None
            manager._rejected(state, "mismatch", scope)
            if self.required:
                await manager.reject(Unauthorized("mismatch"))(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Only the outermost wrapper of a store opens and closes it.
        owners: set[int] = scope.setdefault(_LIFESPAN_KEY, set())
        store = self.manager.store
        if id(store) in owners:
            await self.app(scope, receive, send)
            return
        owners.add(id(store))

        async def receive_opening() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await store.open()
                except StoreError as exc:
                    # Start anyway: requests get 503 until the store is back.
                    logger.error("session store did not open at startup: %s", exc)
            return message

        async def send_closing(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await store.close()
            await send(message)

        await self.app(scope, receive_opening, send_closing)


def _headers_writer(state: RequestState, send: Send) -> Send:
    """Wrap ``send`` to add ``Vary: Cookie`` and any queued ``Set-Cookie`` to the response."""

    async def send_with_headers(message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            state.started = True
            # Changed in place, as Starlette's own middleware does: the dict is this send's.
            message["headers"] = _response_headers(state, message.get("headers") or ())
        elif kind == "websocket.accept":
            state.started = True
            if state.cookies:
                headers = list(message.get("headers", ()))
                headers += [(b"set-cookie", c.encode("latin-1")) for c in state.cookies]
                message = {**message, "headers": headers}
        await send(message)

    return send_with_headers


def _response_headers(state: RequestState, headers: Any) -> list[tuple[bytes, bytes]]:
    cookies = state.cookies
    if not cookies:
        # The common case: no cookie to write and no Vary to merge into.
        for name, _ in headers:
            if name.lower() == _VARY:
                break
        else:
            plain = list(headers)
            plain.append(_VARY_COOKIE)
            return plain
    result: list[tuple[bytes, bytes]] = []
    vary_seen = False
    for name, value in headers:
        lowered = name.lower()
        if lowered == _VARY:
            vary_seen = True
            tokens = [t.strip().lower() for t in value.split(b",")]
            if b"cookie" not in tokens and b"*" not in tokens:
                value = value + b", " + _COOKIE
        elif cookies and lowered == b"cache-control":
            continue
        result.append((name, value))
    if not vary_seen:
        result.append((_VARY, _COOKIE))
    if cookies:
        result.append(_NO_STORE)
        result += [(b"set-cookie", c.encode("latin-1")) for c in cookies]
    return result


def json_response(status: int, body: dict[str, str]) -> ASGIApp:
    """A tiny ASGI app answering ``status`` with a JSON body, uncached and varying on Cookie.

    Over a WebSocket it closes the connection instead: 1008 (policy) for 4xx, 1011 for 5xx.
    """
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        _NO_STORE,
        (_VARY, _COOKIE),
    ]
    close_code = 1011 if status >= 500 else 1008

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": close_code})
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return app


_UNAUTHORIZED: Final = json_response(401, {"error": "unauthorized"})
_UNAVAILABLE: Final = json_response(503, {"error": "session store unavailable"})


def default_reject(error: Exception) -> ASGIApp:
    """The default answer to a failed ``auth``: 503 for a store failure, else 401."""
    return _UNAVAILABLE if isinstance(error, StoreError) else _UNAUTHORIZED
