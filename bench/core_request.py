"""The per-request cost of ``manager.auth`` on the memory store, side by side.

Three in-process ASGI apps answer the same Starlette route, each request with a fresh scope
as a server would build it:

- ``bare``: no session at all;
- ``sessionup``: ``manager.auth`` over a MemoryStore, the request carrying a live cookie;
- ``signed-cookie``: Starlette's own ``SessionMiddleware`` with a signed cookie.

Rounds are interleaved and each round's throughput is divided by the bare route's in the
same round; the table shows the median of those ratios. Run: ``python bench/core_request.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sessionup.core import Manager, current_session
from sessionup.stores.memory import MemoryStore

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
AGENT = b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"


async def bare_route(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def sessionup_route(request: Request) -> PlainTextResponse:
    session = current_session(request)
    assert session is not None
    return PlainTextResponse("hello " + session.user_key)


async def signed_route(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello " + request.session["user"])


def starlette(route: Callable[[Request], Awaitable[PlainTextResponse]]) -> Starlette:
    async def login(request: Request) -> PlainTextResponse:
        request.session["user"] = "alice"
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/", route), Route("/login", login)])


def scope_for(path: str, cookie: bytes | None) -> dict[str, Any]:
    headers = [(b"host", b"example.test"), (b"user-agent", AGENT), (b"accept", b"*/*")]
    if cookie:
        headers.append((b"cookie", cookie))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("203.0.113.9", 51000),
        "server": ("example.test", 80),
        "state": {},
    }


async def call(app: App, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def signed_cookie(app: App) -> bytes:
    sent = await call(app, scope_for("/login", None))
    for name, value in sent[0]["headers"]:
        if name == b"set-cookie":
            return value.split(b";", 1)[0]
    raise RuntimeError("no signed cookie")


async def throughput(app: App, cookie: bytes | None, requests: int) -> float:
    start = time.perf_counter()
    for _ in range(requests):
        sent = await call(app, scope_for("/", cookie))
        assert sent[0]["status"] == 200, sent[0]
    return requests / (time.perf_counter() - start)


async def main(rounds: int, requests: int) -> None:
    store = MemoryStore()
    manager = Manager(store, secure=False)
    token, _ = await manager.issue("alice", ip="203.0.113.9", user_agent=AGENT.decode())
    apps: dict[str, tuple[App, bytes | None]] = {
        "bare": (starlette(bare_route), None),
        "sessionup": (manager.auth(starlette(sessionup_route)), b"sessionup=" + token.encode()),
    }
    signed = SessionMiddleware(starlette(signed_route), secret_key="bench-secret" * 4)
    apps["signed-cookie"] = (signed, await signed_cookie(signed))

    for app, cookie in apps.values():  # warm-up: imports, caches, first-call costs
        await throughput(app, cookie, 500)
    ratios: dict[str, list[float]] = {name: [] for name in apps}
    rates: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        this_round = {name: await throughput(a, c, requests) for name, (a, c) in apps.items()}
        for name, rate in this_round.items():
            rates[name].append(rate)
            ratios[name].append(rate / this_round["bare"])

    print(f"{rounds} interleaved rounds of {requests} requests each (in-process ASGI)\n")
    print("| app | median req/s | median ratio to bare | min ratio | max ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in apps:
        r = ratios[name]
        print(
            f"| {name} | {statistics.median(rates[name]):,.0f} | {statistics.median(r):.3f} "
            f"| {min(r):.3f} | {max(r):.3f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.requests))
