"""The Redis store beside bare redis-py and beside starsessions, on one Redis server.

Run: ``python bench/redis_bench.py [--url redis://127.0.0.1:6379/0] [--rounds 7] [--cluster]``
(needs ``sessionup[redis]``, ``hiredis`` optional, and ``starsessions`` for its column).
``--cluster`` also starts a local three-master Redis Cluster from the installed
``redis-server`` and measures the store's reads on it.

Each figure is the median over interleaved rounds of the mean time per call, sequential
calls on one event loop, so it reads as latency on an idle server. Every contender uses
redis-py's asyncio client with the same parser (hiredis when installed). Keys are written
under a random prefix and removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Any

import redis.asyncio as aioredis

from sessionup.core import Manager, Session, current_session
from sessionup.stores.redis import RedisStore

Op = Callable[[], Awaitable[object]]


async def timed(op: Op, calls: int) -> float:
    """Mean microseconds per call of ``op`` over ``calls`` sequential calls."""
    started = time.perf_counter()
    for _ in range(calls):
        await op()
    return (time.perf_counter() - started) / calls * 1e6


async def compare(contenders: dict[str, Op], calls: int, rounds: int) -> dict[str, float]:
    """Median over ``rounds`` of each contender's mean, the contenders taking turns."""
    for op in contenders.values():
        await timed(op, max(calls // 10, 10))  # warm connections and script caches
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, op in contenders.items():
            samples[name].append(await timed(op, calls))
    return {name: statistics.median(values) for name, values in samples.items()}


def make_session(user_key: str) -> Session:
    now = datetime.now(UTC)
    return Session(
        id=secrets.token_hex(32),
        user_key=user_key,
        created_at=now,
        expires_at=now + timedelta(hours=1),
        meta={"plan": "pro", "tenant": "acme"},
    )


def http_scope(cookie: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/me",
        "raw_path": b"/me",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0"),
            (b"cookie", cookie.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }


def asgi_call(app: Any, cookie: str, expect: bytes) -> Op:
    """One request through ``app``; checks that the body names the expected user."""
    scope = http_scope(cookie)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def request() -> None:
        parts: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                parts.append(message.get("body", b""))

        await app(dict(scope), receive, send)
        if b"".join(parts) != expect:
            raise RuntimeError(f"unexpected response body {b''.join(parts)!r}")

    return request


async def answer(send: Any, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def bench_fetch(store: RedisStore, bare: Any, calls: int, rounds: int) -> dict[str, float]:
    session = make_session("bench-fetch")
    await store.create(session)
    key = store._keys.record(session.id)

    async def store_fetch() -> object:
        return await store.fetch_by_id(session.id)

    async def bare_get() -> object:
        return await bare.get(key)

    return await compare({"fetch_by_id": store_fetch, "bare GET": bare_get}, calls, rounds)


async def bench_users(store: RedisStore, calls: int, rounds: int) -> dict[str, float]:
    contenders: dict[str, Op] = {}
    for count in (1, 10, 100):
        user_key = f"bench-user-{count}"
        for _ in range(count):
            await store.create(make_session(user_key))

        async def listing(user_key: str = user_key, count: int = count) -> object:
            found = await store.fetch_by_user_key(user_key)
            if len(found) != count:
                raise RuntimeError(f"listed {len(found)} sessions, expected {count}")
            return found

        contenders[f"{count} sessions"] = listing
    return await compare(contenders, calls, rounds)


async def bench_requests(
    store: RedisStore, bare: aioredis.Redis, url: str, prefix: str, calls: int, rounds: int
) -> dict[str, float]:
    manager = Manager(store, secure=False)

    async def who(scope: Any, receive: Any, send: Any) -> None:
        found = current_session(scope)
        await answer(send, found.user_key.encode() if found else b"")

    token, _ = await manager.issue("alice")
    contenders: dict[str, Op] = {
        "sessionup manager.auth": asgi_call(manager.auth(who), f"sessionup={token}", b"alice"),
    }

    # The same app with no library: read the cookie, one GET, decode the JSON.
    record_key = store._keys.record(sha256(token.encode()).hexdigest())

    async def bare_app(scope: Any, receive: Any, send: Any) -> None:
        cookie = dict(scope["headers"])[b"cookie"].decode()
        token = cookie.partition("=")[2]
        raw = await bare.get(store._keys.record(sha256(token.encode()).hexdigest()))
        user = json.loads(raw)["user_key"] if raw else ""
        await answer(send, user.encode())

    assert await bare.exists(record_key)
    contenders["bare redis-py GET"] = asgi_call(bare_app, f"sessionup={token}", b"alice")

    starsessions = await starsessions_app(url, prefix)
    if starsessions is not None:
        app, cookie = starsessions
        contenders["starsessions (Redis)"] = asgi_call(app, cookie, b"alice")
    return await compare(contenders, calls, rounds)


async def starsessions_app(url: str, prefix: str) -> tuple[Any, str] | None:
    """starsessions with its Redis store, and the cookie of a session holding a user."""
    try:
        from starlette.requests import Request
        from starsessions import SessionAutoloadMiddleware, SessionMiddleware
        from starsessions.stores.redis import RedisStore as StarRedisStore
    except ImportError:
        print("starsessions is not installed: its column is left out", file=sys.stderr)
        return None

    async def who(scope: Any, receive: Any, send: Any) -> None:
        session = Request(scope).session
        if scope["path"] == "/login":
            session["user"] = "alice"
        await answer(send, session.get("user", "").encode())

    connection = aioredis.Redis.from_url(url)
    store = StarRedisStore(connection=connection, prefix=prefix + "starsessions:")
    app = SessionMiddleware(
        SessionAutoloadMiddleware(who), store=store, cookie_https_only=False, lifetime=3600
    )
    cookie = await login_cookie(app)
    return app, cookie


async def login_cookie(app: Any) -> str:
    headers: list[tuple[bytes, bytes]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers.extend(message["headers"])

    scope = http_scope("")
    scope.update(path="/login", raw_path=b"/login")
    await app(scope, receive, send)
    for name, value in headers:
        if name.lower() == b"set-cookie":
            return value.decode().split(";", 1)[0]
    raise RuntimeError("starsessions set no cookie at login")


def table(title: str, figures: dict[str, float], base: str | None = None) -> str:
    lines = [f"\n{title}", f"| {'':28} | µs per call | ratio |", f"| {'-' * 28} | ---: | ---: |"]
    reference = figures[base] if base else None
    for name, value in figures.items():
        ratio = f"{value / reference:.2f}" if reference else ""
        lines.append(f"| {name:28} | {value:8.1f} | {ratio} |")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--cluster", action="store_true", help="also measure on a local cluster")
    args = parser.parse_args()

    prefix = f"sessionup-bench:{secrets.token_hex(4)}:"
    store = RedisStore.from_url(args.url, prefix=prefix)
    bare = aioredis.Redis.from_url(args.url)
    await store.open()
    try:
        fetch = await bench_fetch(store, bare, args.calls, args.rounds)
        users = await bench_users(store, args.calls // 4, args.rounds)
        requests = await bench_requests(store, bare, args.url, prefix, args.calls // 2, args.rounds)
    finally:
        keys = [key async for key in bare.scan_iter(match=prefix.replace("*", r"\*") + "*")]
        if keys:
            await bare.delete(*keys)
        await store.close()
        await bare.aclose()

    import redis

    try:
        import hiredis  # noqa: F401

        parser_name = "hiredis"
    except ImportError:
        parser_name = "pure-Python parser"
    print(f"{args.rounds} interleaved rounds, median; redis-py {redis.__version__}, {parser_name}")
    print(table("fetch_by_id beside a bare GET of the same record", fetch, "bare GET"))
    print(table("fetch_by_user_key", users, "1 sessions"))
    print(table("authenticated request, in-process ASGI", requests, "bare redis-py GET"))
    if args.cluster:
        await bench_cluster(args.calls, args.rounds)


async def bench_cluster(calls: int, rounds: int) -> None:
    from redis.asyncio.cluster import ClusterNode, RedisCluster
    from redis_cluster import local_cluster  # type: ignore[import-not-found]

    with local_cluster() as url:
        store = RedisStore(url, prefix="sessionup-bench:")
        seeds = [ClusterNode(h, int(p)) for h, p in (n.split(":") for n in url[16:].split(","))]
        bare = RedisCluster(startup_nodes=seeds)
        await store.open()
        try:
            fetch = await bench_fetch(store, bare, calls, rounds)
            users = await bench_users(store, calls // 4, rounds)
        finally:
            await store.close()
            await bare.aclose()
    print(table("cluster: fetch_by_id beside a bare GET", fetch, "bare GET"))
    print(table("cluster: fetch_by_user_key (records spread over 3 masters)", users, "1 sessions"))


if __name__ == "__main__":
    asyncio.run(main())
