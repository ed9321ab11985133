"""A second app process for the multi-process tests: it drives its own SQLiteStore.

Run as ``python peer.py DATABASE``. It reads one JSON command per line on stdin and answers
one JSON line on stdout:

- ``{"op": "create", "id": ..., "user_key": ..., "ttl": seconds}`` -> ``{"ok": true}``
- ``{"op": "create_many", "prefix": ..., "user_key": ..., "count": n}`` -> ``{"ok": true}``
- ``{"op": "fetch", "id": ...}`` -> ``{"user_key": ... or null}``
- ``{"op": "count", "user_key": ...}`` -> ``{"count": n}``
- ``{"op": "revoke_user", "user_key": ..., "except_ids": [...]}`` -> ``{"count": n}``
- ``{"op": "revoke", "id": ...}`` -> ``{"deleted": bool}``
- ``{"op": "touch", "id": ..., "ttl": seconds}`` -> ``{"live": bool}``
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from sessionup.core import Session
from sessionup.stores.sqlite import SQLiteStore


def session(id: str, user_key: str, ttl: float = 3600) -> Session:
    now = datetime.now(UTC)
    return Session(
        id=id, user_key=user_key, created_at=now, expires_at=now + timedelta(seconds=ttl)
    )


async def answer(store: SQLiteStore, command: dict[str, Any]) -> dict[str, Any]:
    op = command["op"]
    if op == "create":
        await store.create(session(command["id"], command["user_key"], command.get("ttl", 3600)))
        return {"ok": True}
    if op == "create_many":
        prefix, user_key = command["prefix"], command["user_key"]
        await asyncio.gather(
            *(store.create(session(f"{prefix}{i}", user_key)) for i in range(command["count"]))
        )
        return {"ok": True}
    if op == "fetch":
        found = await store.fetch_by_id(command["id"])
        return {"user_key": None if found is None else found.user_key}
    if op == "count":
        return {"count": len(await store.fetch_by_user_key(command["user_key"]))}
    if op == "revoke_user":
        count = await store.delete_by_user_key(
            command["user_key"], except_ids=command.get("except_ids", ())
        )
        return {"count": count}
    if op == "revoke":
        return {"deleted": await store.delete_by_id(command["id"])}
    if op == "touch":
        expires = datetime.now(UTC) + timedelta(seconds=command["ttl"])
        return {"live": await store.touch(command["id"], expires)}
    raise ValueError(f"unknown op {op!r}")


async def main(database: str) -> None:
    loop = asyncio.get_running_loop()
    async with SQLiteStore(database) as store:
        print(json.dumps({"ready": True}), flush=True)
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            try:
                reply = await answer(store, json.loads(line))
            except Exception as exc:
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
