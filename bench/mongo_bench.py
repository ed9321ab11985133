"""MongoStore.fetch_by_id beside a bare pymongo find_one by _id, on the same client.

    python bench/mongo_bench.py                 # starts the nx-27017 stand-in on a free port
    python bench/mongo_bench.py --url mongodb://127.0.0.1:27017

Each round times every contender over the same ids, in an order that rotates from round to
round; the table shows the median of the rounds. A unique database is used and dropped.
Needs ``sessionup-store-mongo`` and, without ``--url``, ``nx-27017``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pymongo import MongoClient

from sessionup.core import Session
from sessionup.core.session import datetime_to_micros
from sessionup.stores.mongo import MongoStore


def start_stand_in(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (folder / "data").mkdir()
    command = [
        sys.executable,
        "-c",
        "import sys; from nx_27017.nx_27017 import main; sys.exit(main())",
        *("--host", "127.0.0.1", "--port", str(port), "--data-dir", str(folder / "data")),
        *("--log-file", str(folder / "nx.log"), "--pid-file", str(folder / "nx.pid")),
    ]
    log = (folder / "out.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"mongodb://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=500)
        try:
            client.admin.command("ping")
            return process, url
        except Exception:
            time.sleep(0.2)
        finally:
            client.close()
    process.terminate()
    raise SystemExit(f"nx-27017 did not start: {(folder / 'out.log').read_text()[-2000:]}")


async def run(url: str, sessions: int, per_round: int, rounds: int) -> list[tuple[str, float]]:
    database = f"sessionup_bench_{uuid.uuid4().hex[:8]}"
    store = MongoStore(f"{url.rstrip('/')}/{database}")
    await store.open()
    try:
        now = datetime.now(UTC)
        ids = [uuid.uuid4().hex * 2 for _ in range(sessions)]
        for n, sid in enumerate(ids):
            await store.create(
                Session(sid, f"user{n % 50}", now, now + timedelta(hours=1), meta={"n": str(n)})
            )
        bare = store.client[store.database_name][store.collection_name]
        picks = [ids[i % sessions] for i in range(per_round)]

        async def store_fetch(sid: str) -> object:
            return await store.fetch_by_id(sid)

        async def bare_find_one(sid: str) -> object:
            return await bare.find_one({"_id": sid})

        async def bare_live_filter(sid: str) -> object:
            # The store's own query, without its decoding: splits the server's share of the
            # difference from the client's.
            live = datetime_to_micros(datetime.now(UTC))
            return await bare.find_one({"_id": {"$eq": sid}, "expires_us": {"$gt": live}})

        contenders: list[tuple[str, Callable[[str], Awaitable[object]]]] = [
            ("MongoStore.fetch_by_id", store_fetch),
            ("pymongo find_one({'_id': id})", bare_find_one),
            ("pymongo find_one, store's filter", bare_live_filter),
        ]
        for _, call in contenders:  # warm the pool and the server's caches
            for sid in picks[:50]:
                assert await call(sid) is not None

        timings: dict[str, list[float]] = {name: [] for name, _ in contenders}
        for round_ in range(rounds):
            shift = round_ % len(contenders)
            order = contenders[shift:] + contenders[:shift]
            for name, call in order:
                started = time.perf_counter()
                for sid in picks:
                    await call(sid)
                timings[name].append((time.perf_counter() - started) / per_round)
        return [(name, statistics.median(values)) for name, values in timings.items()]
    finally:
        await store.client.drop_database(database)
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a MongoDB server to use instead of starting nx-27017")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--per-round", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    process = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.url:
            url, server = args.url, "the server at --url"
        else:
            process, url = start_stand_in(Path(tmp))
            server = "nx-27017 (stand-in, SQLite-backed), on this machine"
        try:
            results = asyncio.run(run(url, args.sessions, args.per_round, args.rounds))
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=10)

    baseline = results[1][1]
    print(f"server: {server}; {args.sessions} sessions, {args.per_round} lookups a round,")
    print(f"median of {args.rounds} interleaved rounds, one client, sequential awaits\n")
    print(f"| {'operation':<32} | {'µs/op':>8} | {'ops/s':>8} | {'vs bare':>7} |")
    print(f"| {'-' * 32} | {'-' * 8}:| {'-' * 8}:| {'-' * 7}:|")
    for name, seconds in results:
        print(
            f"| {name:<32} | {seconds * 1e6:>8.1f} | {1 / seconds:>8.0f} | "
            f"{seconds / baseline:>6.2f}x |"
        )


if __name__ == "__main__":
    main()
