"""SQLiteStore.fetch_by_id beside a bare aiosqlite primary-key SELECT, on the same file.

    python bench/sqlite_fetch.py                      # 1 000 and 1 000 000 sessions
    python bench/sqlite_fetch.py --sizes 1000 --rounds 5 --lookups 2000

For each size a new database file is made in a temporary folder: the store creates its
table, then the rows go straight in with one ``executemany`` in one transaction. The store
and a bare aiosqlite connection then look up the same ids (hits, and ids that do not exist)
one after another, in an order that rotates from round to round; the table shows the
median of the rounds, in microseconds per lookup. A third contender runs the bare SELECT
inside ``asyncio.timeout``, to show what a timer per call would cost (the store bounds its
calls with a watchdog thread instead). Needs ``sessionup-store-sqlite``.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from sessionup.core.session import datetime_to_micros
from sessionup.stores.sqlite import SQLiteStore
from sessionup.stores.sqlite.schema import create_statements

TABLE = "sessionup_sessions"
BARE_SQL = (
    f"SELECT id, user_key, created_at, expires_at, ip, os, browser, meta FROM {TABLE} WHERE id = ?"
)

Lookup = Callable[[str], Awaitable[object]]


def session_id(n: int, size: int) -> str:
    """The id of session ``n`` of ``size``: 64 hex digits like the manager's SHA-256 ids.

    They are spread evenly over the whole key space and rise with ``n``, so rows can be
    inserted in key order (fast) while the B-tree ends up as deep as with random digests.
    An odd ``n`` past ``size`` never exists.
    """
    return f"{(2 * n) * (2**255 // size):064x}"


def populate(path: Path, size: int) -> float:
    """Insert ``size`` live sessions straight into the store's table; return the seconds."""
    started = time.perf_counter()
    now = datetime_to_micros(datetime.now(UTC))
    day = datetime_to_micros(datetime(1970, 1, 2, tzinfo=UTC))
    rows = (
        (
            session_id(n, size),
            f"user-{n // 4}",
            now - n % 3600 * 1_000_000,
            now + day + n % 3600 * 1_000_000,
            "192.0.2.1",
            "Linux",
            "Firefox",
            '{"device":"laptop"}',
        )
        for n in range(size)
    )
    indexes = [s for s in create_statements(TABLE) if s.startswith("CREATE INDEX")]
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN")
        # Building the indexes once after the rows is much faster than growing them.
        conn.execute(f"DROP INDEX {TABLE}_user_key")
        conn.execute(f"DROP INDEX {TABLE}_expires_at")
        conn.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        for statement in indexes:
            conn.execute(statement)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - started


def populate_elsewhere(path: Path, size: int) -> float:
    """:func:`populate` in a child process, so this one's heap stays as an app's would."""
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--populate", str(path), str(size)], check=True)
    return time.perf_counter() - started


async def time_lookups(lookup: Lookup, ids: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU microseconds per lookup, over ``ids`` one after another.

    CPU time is the whole process's (aiosqlite's worker thread included): on a shared
    machine it moves less than wall-clock time when other work takes the cores.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    for sid in ids:
        await lookup(sid)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return wall / len(ids) * 1e6, cpu / len(ids) * 1e6


async def measure(path: Path, size: int, rounds: int, lookups: int) -> list[tuple[str, ...]]:
    rng = random.Random(size)
    hits = [session_id(rng.randrange(size), size) for _ in range(lookups)]
    misses = [session_id(rng.randrange(size), size)[:-1] + "1" for _ in range(lookups)]

    async with (
        SQLiteStore(path) as store,
        aiosqlite.connect(path, isolation_level=None) as bare,
    ):

        async def bare_fetch(sid: str) -> object:
            return await bare.execute_fetchall(BARE_SQL, (sid,))

        async def bare_in_timeout(sid: str) -> object:
            async with asyncio.timeout(10):
                return await bare.execute_fetchall(BARE_SQL, (sid,))

        assert await store.fetch_by_id(hits[0]) is not None
        assert list(await bare_fetch(hits[0]))
        contenders: dict[str, Lookup] = {
            "store": store.fetch_by_id,
            "bare": bare_fetch,
            "timer": bare_in_timeout,
        }
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for kind, ids in (("hit", hits), ("miss", misses)):
            for lookup in contenders.values():
                await time_lookups(lookup, ids[:200])
            for round_no in range(rounds):
                order = list(contenders.items())
                order = order[round_no % 3 :] + order[: round_no % 3]
                for name, lookup in order:
                    results.setdefault((kind, name), []).append(await time_lookups(lookup, ids))

    table = []
    for kind in ("hit", "miss"):
        store_us, store_cpu = medians(results[(kind, "store")])
        bare_us, bare_cpu = medians(results[(kind, "bare")])
        timer_us, _ = medians(results[(kind, "timer")])
        table.append(
            (
                f"{size:,}".replace(",", " "),
                f"fetch_by_id ({kind})",
                f"{store_us:.1f}",
                f"{bare_us:.1f}",
                f"{store_us - bare_us:+.1f} ({store_us / bare_us:.2f}x)",
                f"{store_cpu:.1f} / {bare_cpu:.1f}",
                f"{timer_us:.1f}",
            )
        )
    return table


def medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return (
        statistics.median(wall for wall, _ in samples),
        statistics.median(cpu for _, cpu in samples),
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--lookups", type=int, default=5_000)
    args = parser.parse_args()

    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"aiosqlite {aiosqlite.__version__}, {platform.machine()}; "
        f"median of {args.rounds} interleaved rounds of {args.lookups} sequential lookups"
    )
    header = (
        "sessions in file",
        "operation",
        "store µs",
        "bare SELECT µs",
        "store - bare",
        "CPU µs store / bare",
        "bare in asyncio.timeout µs",
    )
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory(prefix="sessionup-bench-") as folder:
        for size in args.sizes:
            path = Path(folder) / f"sessions-{size}.db"
            async with SQLiteStore(path):
                pass
            seconds = populate_elsewhere(path, size)
            megabytes = path.stat().st_size / 2**20
            print(f"populated {size:,} sessions in {seconds:.1f} s ({megabytes:.0f} MiB)")
            rows += await measure(path, size, args.rounds, args.lookups)

    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(" --- " for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--populate"]:
        populate(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        asyncio.run(main())
