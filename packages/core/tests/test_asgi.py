"""The ASGI wrappers: a pure ASGI app, FastAPI, WebSockets, lifespan, nesting, failures."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Annotated, Any

import httpx
import pytest
from conftest import ClientFactory, starlette_app
from fastapi import Depends, FastAPI, HTTPException, Request
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from sessionup.core import (
    Manager,
    MiddlewareMissingError,
    Session,
    StoreError,
    current_session,
)
from sessionup.core.asgi import Receive, Scope, Send
from sessionup.stores.memory import MemoryStore


class BrokenStore(MemoryStore):
    """A memory store whose reads fail while ``down`` is set, as a backend outage would."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.opened = 0
        self.closed = 0

    async def open(self) -> None:
        self.opened += 1
        await super().open()

    async def close(self) -> None:
        self.closed += 1
        await super().close()

    def _fail(self) -> None:
        if self.down:
            raise StoreError("backend unreachable") from ConnectionRefusedError(111, "refused")

    async def fetch_by_id(self, id: str) -> Session | None:
        self._fail()
        return await super().fetch_by_id(id)

    async def fetch_by_user_key(self, user_key: str) -> list[Session]:
        self._fail()
        return await super().fetch_by_user_key(user_key)

    async def delete_by_user_key(self, user_key: str, *, except_ids: Collection[str] = ()) -> int:
        self._fail()
        return await super().delete_by_user_key(user_key, except_ids=except_ids)

    async def touch(self, id: str, expires_at: datetime) -> bool:
        self._fail()
        return await super().touch(id, expires_at)


def require_session(request: Request) -> Session:
    """A FastAPI dependency: the request's session, or 401."""
    session = current_session(request)
    if session is None:
        raise HTTPException(status_code=401, detail="log in first")
    return session


def pure_asgi_app(manager: Manager) -> Any:
    """An app with no framework at all: it reads the scope and writes ASGI messages."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/login":
            await manager.init(scope, "alice")
            body = b"welcome"
        else:
            session = current_session(scope)
            body = b"anonymous" if session is None else session.user_key.encode()
        headers = [(b"content-type", b"text/plain"), (b"vary", b"Accept-Encoding")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return manager.public(app)


async def test_pure_asgi_app_logs_in_and_reads_the_session(
    manager: Manager, client_for: ClientFactory
) -> None:
    client = client_for(pure_asgi_app(manager))

    before = await client.get("/")
    login = await client.post("/login")
    after = await client.get("/")

    assert before.text == "anonymous"
    assert "sessionup=" in login.headers["set-cookie"]
    assert after.text == "alice"
    assert after.headers["vary"] == "Accept-Encoding, Cookie", "Vary must be merged, not doubled"


async def test_fastapi_dependency_yields_the_session_or_answers_401(
    manager: Manager, client_for: ClientFactory
) -> None:
    api = FastAPI()

    @api.post("/login")
    async def login(request: Request) -> dict[str, str]:
        session = await manager.init(request, "carol")
        return {"user": session.user_key}

    @api.get("/me")
    async def me(session: Annotated[Session, Depends(require_session)]) -> dict[str, Any]:
        return {"user": session.user_key, "current": session.current}

    client = client_for(manager.public(api))

    anonymous = await client.get("/me")
    await client.post("/login")
    known = await client.get("/me")

    assert anonymous.status_code == 401 and anonymous.json() == {"detail": "log in first"}
    assert known.json() == {"user": "carol", "current": True}


async def test_store_failure_gives_503_on_auth_and_anonymous_on_public(
    client_for: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    store = BrokenStore()
    manager = Manager(store)
    client = client_for(starlette_app(manager))
    await client.post("/login", params={"user": "alice"})
    store.down = True

    with caplog.at_level(logging.ERROR, logger="sessionup"):
        private = await client.get("/private")
        public = await client.get("/me")
    store.down = False
    recovered = await client.get("/private")

    assert private.status_code == 503
    assert private.json() == {"error": "session store unavailable"}
    assert public.status_code == 200 and public.json() is None
    assert any("session store failed" in r.getMessage() for r in caplog.records)
    assert client.cookies["sessionup"] not in caplog.text
    assert recovered.status_code == 200


async def test_custom_reject_decides_the_answer(
    make_manager: type[Manager], client_for: ClientFactory
) -> None:
    seen: list[Exception] = []

    def reject(error: Exception) -> Any:
        seen.append(error)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await send(
                {"type": "http.response.start", "status": 302, "headers": [(b"location", b"/in")]}
            )
            await send({"type": "http.response.body", "body": b""})

        return app

    manager = make_manager(reject=reject)
    client = client_for(starlette_app(manager))

    response = await client.get("/private")

    assert response.status_code == 302 and response.headers["location"] == "/in"
    assert type(seen[0]).__name__ == "Unauthorized"


async def test_auth_inside_public_loads_the_session_once(client_for: ClientFactory) -> None:
    store = MemoryStore()
    calls: list[str] = []
    original = store.fetch_by_id

    async def counting_fetch(id: str) -> Session | None:
        calls.append(id)
        return await original(id)

    store.fetch_by_id = counting_fetch  # type: ignore[method-assign]
    manager = Manager(store)
    client = client_for(starlette_app(manager))
    await client.post("/login")
    calls.clear()

    response = await client.get("/private")

    assert response.status_code == 200
    assert len(calls) == 1, f"expected one store lookup, saw {len(calls)}"


async def test_init_without_a_wrapper_names_the_wrapper_to_add(manager: Manager) -> None:
    scope = {"type": "http", "headers": [], "client": ("127.0.0.1", 1)}

    with pytest.raises(MiddlewareMissingError, match=r"manager\.public\(app\)"):
        await manager.init(scope, "alice")
    with pytest.raises(MiddlewareMissingError):
        current_session(scope)


async def test_other_scope_types_pass_through_untouched(manager: Manager) -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    wrapped = manager.auth(app)
    await wrapped({"type": "custom-protocol"}, None, None)  # type: ignore[arg-type]

    assert seen == [{"type": "custom-protocol"}]


def test_lifespan_opens_and_closes_the_store_once_when_nested() -> None:
    store = BrokenStore()
    manager = Manager(store, secure=False)
    inner = Starlette()
    app = manager.public(manager.auth(inner))

    with TestClient(app):
        assert store.opened == 1
        assert store.closed == 0

    assert store.opened == 1
    assert store.closed == 1


def test_websocket_with_a_session_is_accepted_and_without_is_closed() -> None:
    store = MemoryStore()
    manager = Manager(store, secure=False)

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        session = current_session(websocket)
        assert session is not None
        await websocket.send_text(session.user_key)
        await websocket.close()

    app = manager.auth(Starlette(routes=[WebSocketRoute("/ws", echo)]))
    client = TestClient(app)
    token = None

    async def make_token() -> str:
        token, _ = await manager.issue("dave")
        return token

    import anyio

    token = anyio.run(make_token)

    client.cookies.set("sessionup", token)
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == "dave"
    anonymous = TestClient(app)
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as closed, anonymous.websocket_connect("/ws"):
        pass
    assert closed.value.code == 1008


async def test_framework_free_calls_issue_authenticate_and_build_headers(
    make_manager: type[Manager],
) -> None:
    manager = make_manager(expires_in=timedelta(minutes=10), validate=True)

    token, session = await manager.issue("erin", ip="192.0.2.5", user_agent="curl/8.0")
    header = manager.cookie_header(token, session)
    found = manager.token_from_cookie_header(f"other=1; {header.split(';')[0]}")

    assert found == token
    assert "Max-Age=600" in header and "Secure" in header
    assert (await manager.authenticate(token, ip="192.0.2.5", user_agent="curl/8.0")) is not None
    assert await manager.authenticate(token, ip="192.0.2.6", user_agent="curl/8.0") is None
    assert await manager.authenticate("x" * 43) is None
    assert await manager.authenticate("not a token; sessionup=" + token) is None
    cleared = manager.clear_cookie_header()
    assert cleared.startswith("sessionup=;") and "Max-Age=0" in cleared


async def test_revoke_by_user_key_and_by_id_need_no_request(manager: Manager) -> None:
    _, first = await manager.issue("frank")
    await manager.issue("frank")
    _, other = await manager.issue("grace")

    assert await manager.revoke_by_id(first.id) is True
    assert await manager.revoke_by_id(first.id) is False
    assert await manager.revoke_by_user_key("frank") == 1
    assert await manager.store.fetch_by_id(other.id) is not None


async def test_clone_changes_options_and_keeps_the_store(manager: Manager) -> None:
    clone = manager.clone(cookie_name="other", validate=True)

    assert clone.store is manager.store
    assert clone.cookie_name == "other" and clone.validate is True
    assert manager.cookie_name == "sessionup" and manager.validate is False
    assert clone.expires_in == manager.expires_in


async def test_json_reject_body_is_valid_json() -> None:
    from sessionup.core.asgi import json_response

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await json_response(418, {"error": "teapot"})({"type": "http"}, None, send)  # type: ignore[arg-type]

    assert sent[0]["status"] == 418
    assert json.loads(sent[1]["body"]) == {"error": "teapot"}


async def test_set_cookie_reaches_a_streaming_response(
    manager: Manager, client_for: ClientFactory
) -> None:
    from starlette.responses import StreamingResponse

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await manager.init(scope, "henry")

        async def chunks() -> Any:
            yield b"a"
            yield b"b"

        await StreamingResponse(chunks())(scope, receive, send)

    client = client_for(manager.public(app))

    response = await client.get("/")

    assert response.text == "ab"
    assert "sessionup=" in response.headers["set-cookie"]


async def test_httpx_transport_is_not_mocked() -> None:
    assert httpx.ASGITransport.__module__.startswith("httpx")


async def test_a_stricter_inner_wrapper_drops_a_session_used_from_elsewhere(
    manager: Manager, client_for: ClientFactory
) -> None:
    strict = manager.clone(validate=True)
    seen: list[Session | None] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(current_session(scope))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def outer(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/login":
            await manager.init(scope, "alice")
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await strict.public(inner)(scope, receive, send)

    app = manager.public(outer)
    owner = client_for(app, ip="203.0.113.1")
    await owner.post("/login")
    thief = client_for(app, ip="203.0.113.99")
    thief.cookies.set("sessionup", owner.cookies["sessionup"])

    await owner.get("/inner")
    await thief.get("/inner")

    assert seen[0] is not None and seen[0].user_key == "alice"
    assert seen[1] is None, "the validating wrapper must not pass on a mismatched session"
