"""PostgresStore beside bare psycopg queries on the same pool, at two table sizes.

    python bench/postgres_bench.py
    python bench/postgres_bench.py --url postgresql://postgres@127.0.0.1:5432/test --rounds 9

Measures, in one run:

- ``fetch_by_id`` beside a bare primary-key ``SELECT`` of the same columns, on the store's
  own pool, with 1 000 and then 1 000 000 rows in the table (flat is the goal);
- ``fetch_by_user_key`` for users holding 1, 10 and 100 sessions (at 1 000 000 rows),
  beside the bare ``SELECT`` by user key.

Each round times every contender over the same ids, in an order that rotates from round to
round; the table shows the median of the rounds, in microseconds per call. Rows are made by
``generate_series`` inside the server, in a scratch schema that is dropped at the end.
URL: ``--url``, else ``SESSIONUP_TEST_POSTGRES_URL``, else the local default.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import psycopg
from psycopg import sql

from sessionup.stores.postgres import PostgresStore

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
SIZES = (1_000, 1_000_000)
USER_SIZES = (1, 10, 100)
COLUMNS = "id, user_key, created_at, expires_at, ip, agent_os, agent_browser, meta"

Call = Callable[[str], Awaitable[object]]


def populate(url: str, table: sql.Identifier, start: int, stop: int) -> float:
    """Insert rows ``start`` to ``stop - 1`` in one statement; return the seconds it took."""
    began = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (" + COLUMNS + ")"
                " SELECT encode(sha256(i::text::bytea), 'hex'), 'user-' || (i %% 100000),"
                " now(), now() + interval '1 day', '192.0.2.1', 'Linux', 'Firefox',"
                """ '{{"device": "laptop"}}'::jsonb"""
                " FROM generate_series(%s::int, %s::int) AS i"
            ).format(table),
            (start, stop - 1),
        )
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(table))
    return time.perf_counter() - began


def add_users(url: str, table: sql.Identifier) -> None:
    """Users ``bench-1``, ``bench-10`` and ``bench-100`` holding that many sessions."""
    with psycopg.connect(url, autocommit=True) as conn:
        for count in USER_SIZES:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (" + COLUMNS + ")"
                    " SELECT 'bench-' || %s || '-' || i, 'bench-' || %s, now(),"
                    " now() + interval '1 day', '192.0.2.1', 'Linux', 'Firefox', '{{}}'::jsonb"
                    " FROM generate_series(1, %s) AS i"
                ).format(table),
                (count, count, count),
            )
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(table))


def sample_ids(url: str, table: sql.Identifier, size: int, count: int) -> list[str]:
    picks = random.Random(size).sample(range(size), count)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT id FROM {} WHERE id = ANY(%s)").format(table),
            ([_id_of(i) for i in picks],),
        ).fetchall()
    return [row[0] for row in rows]


def _id_of(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


async def time_rounds(
    contenders: dict[str, Call], keys: list[str], rounds: int
) -> dict[str, float]:
    """Median microseconds per call of each contender, over interleaved rounds."""
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for key in keys[:20]:  # warm up: connections made, statements prepared
        for name in names:
            await contenders[name](key)
    for round_no in range(rounds):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            call = contenders[name]
            began = time.perf_counter()
            for key in keys:
                await call(key)
            samples[name].append((time.perf_counter() - began) / len(keys) * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def server_time(url: str, table: sql.Identifier, ids: list[str]) -> float:
    """Median server-side execution time of the primary-key lookup, in microseconds.

    Taken from ``EXPLAIN ANALYZE``: what the index lookup itself costs, free of the round
    trip and of the client's load, so flatness across table sizes shows plainly.
    """
    query = sql.SQL(
        "EXPLAIN (ANALYZE, FORMAT JSON) SELECT " + COLUMNS + " FROM {}"
        " WHERE id = %s AND expires_at > now()"
    ).format(table)
    times = []
    with psycopg.connect(url) as conn:
        for id in ids:
            plan = conn.execute(query, (id,)).fetchone()
            assert plan is not None
            times.append(float(plan[0][0]["Execution Time"]) * 1000)
    return statistics.median(times)


def bare_select(store: PostgresStore, where: str, many: bool) -> Call:
    """The same columns by primary key or user key, with psycopg alone, on the store's pool."""
    query = (
        sql.SQL("SELECT " + COLUMNS + " FROM {} WHERE " + where + " = %s AND expires_at > now()")
        .format(sql.Identifier(store.schema, store.table))
        .as_bytes(None)
    )

    async def call(key: str) -> object:
        assert store.pool is not None
        async with store.pool.connection() as conn:
            cur = await conn.execute(query, (key,))
            return await (cur.fetchall() if many else cur.fetchone())

    return call


async def bench(url: str, rounds: int, calls: int) -> list[str]:
    schema = f"sessionup_bench_{uuid.uuid4().hex[:8]}"
    store = PostgresStore.from_url(url, schema=schema, min_size=1, max_size=1)
    table = sql.Identifier(schema, "sessionup_sessions")
    lines = [
        f"rounds: {rounds} (median shown), calls per round: {calls}, one pooled connection,"
        f" load average at start {os.getloadavg()[0]:.1f}",
        "",
        "| rows in table | contender | µs per call |",
        "| ---: | --- | ---: |",
    ]
    try:
        await store.open()
        filled = 0
        for size in SIZES:
            seconds = populate(url, table, filled, size)
            filled = size
            print(f"populated {size:,} rows ({seconds:.1f} s)")
            ids = sample_ids(url, table, size, calls)
            results = await time_rounds(
                {
                    "store.fetch_by_id": store.fetch_by_id,
                    "bare psycopg SELECT by id": bare_select(store, "id", many=False),
                },
                ids,
                rounds,
            )
            for name, micros in results.items():
                lines.append(f"| {size:,} | {name} | {micros:.0f} |")
            executed = server_time(url, table, ids[:100])
            lines.append(
                f"| {size:,} | server execution of the lookup (EXPLAIN ANALYZE) | {executed:.0f} |"
            )
        add_users(url, table)
        lines += ["", "| sessions of the user | contender | µs per call |", "| ---: | --- | ---: |"]
        for count in USER_SIZES:
            keys = [f"bench-{count}"] * max(20, calls // max(1, count // 10))
            results = await time_rounds(
                {
                    "store.fetch_by_user_key": store.fetch_by_user_key,
                    "bare psycopg SELECT by user key": bare_select(store, "user_key", many=True),
                },
                keys,
                rounds,
            )
            for name, micros in results.items():
                lines.append(f"| {count} | {name} | {micros:.0f} |")
    finally:
        await store.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("SESSIONUP_TEST_POSTGRES_URL", DEFAULT_URL))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    lines = asyncio.run(bench(args.url, args.rounds, args.calls))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
