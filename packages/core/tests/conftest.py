"""Shared fixtures: a memory store, managers, and Starlette/httpx clients acting as devices."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response

from sessionup.core import Manager, NotOwnerError, Unauthorized, current_session
from sessionup.core.asgi import ASGIApp
from sessionup.core.session import Session
from sessionup.stores.memory import MemoryStore

CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


def describe(session: Session | None) -> dict[str, Any] | None:
    if session is None:
        return None
    return {
        "id": session.id,
        "user_key": session.user_key,
        "ip": None if session.ip is None else str(session.ip),
        "os": session.agent.os,
        "browser": session.agent.browser,
        "meta": dict(session.meta),
        "current": session.current,
        "created_at": session.created_at.isoformat(),
        "expires_at": session.expires_at.isoformat(),
    }


def starlette_app(manager: Manager) -> ASGIApp:
    """A small app using every per-request operation, wrapped in ``manager.public``."""

    async def login(request: Request) -> Response:
        meta = dict(request.query_params)
        user = meta.pop("user", "alice")
        session = await manager.init(request, user, meta=meta or None)
        return JSONResponse(describe(session))

    async def me(request: Request) -> Response:
        return JSONResponse(describe(current_session(request)))

    async def private(request: Request) -> Response:
        session = current_session(request)
        assert session is not None, "auth let a request without a session through"
        return JSONResponse({"user": session.user_key})

    async def sessions(request: Request) -> Response:
        return JSONResponse([describe(s) for s in await manager.fetch_all(request)])

    async def revoke(request: Request) -> Response:
        return JSONResponse({"revoked": await manager.revoke(request)})

    async def revoke_other(request: Request) -> Response:
        return JSONResponse({"revoked": await manager.revoke_other(request)})

    async def revoke_all(request: Request) -> Response:
        return JSONResponse({"revoked": await manager.revoke_all(request)})

    async def revoke_one(request: Request) -> Response:
        try:
            done = await manager.revoke_by_id_ext(request, request.path_params["id"])
        except NotOwnerError:
            return JSONResponse({"error": "not yours"}, status_code=403)
        return JSONResponse({"revoked": done})

    async def rotate(request: Request) -> Response:
        return JSONResponse(describe(await manager.rotate(request)))

    async def unauthorized(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "unauthorized"}, status_code=401)

    routes = [
        Route("/login", login, methods=["POST"]),
        Route("/me", me),
        Route("/private", manager.auth(request_response(private))),
        Route("/sessions", sessions),
        Route("/revoke", revoke, methods=["POST"]),
        Route("/revoke-other", revoke_other, methods=["POST"]),
        Route("/revoke-all", revoke_all, methods=["POST"]),
        Route("/revoke/{id}", revoke_one, methods=["POST"]),
        Route("/rotate", rotate, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={Unauthorized: unauthorized})
    return manager.public(app)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def make_manager(store: MemoryStore) -> Callable[..., Manager]:
    def make(**options: Any) -> Manager:
        return Manager(store, **options)

    return make


@pytest.fixture
def manager(make_manager: Callable[..., Manager]) -> Manager:
    return make_manager(expires_in=timedelta(hours=1))


ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def client_for() -> AsyncIterator[ClientFactory]:
    """Build httpx clients (one per "device") over an ASGI app, closed at teardown."""
    clients: list[httpx.AsyncClient] = []

    def make(app: Any, *, ip: str = "203.0.113.10", agent: str = CHROME_LINUX) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 50000))
        client = httpx.AsyncClient(
            transport=transport, base_url="https://testserver", headers={"user-agent": agent}
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def get_with_token(client: httpx.AsyncClient, path: str, token: str) -> httpx.Response:
    """GET with the session cookie sent by hand.

    Python's cookie jar truncates its clock to whole seconds, so it drops a cookie with a
    short Max-Age early; tests of server-side expiry must not let the client decide.
    """
    client.cookies.clear()
    return await client.get(path, headers={"cookie": f"sessionup={token}"})
