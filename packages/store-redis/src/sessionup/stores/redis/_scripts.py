"""The server-side scripts: each reads and writes exactly one key, so each runs in one slot.

Scripts are sent by digest (EVALSHA); a server that does not know one yet, after a restart, a
failover or ``SCRIPT FLUSH``, answers NOSCRIPT and is sent the source once (EVAL caches it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Final

from redis.exceptions import NoScriptError

# KEYS[1] user index; ARGV id, expiry score (ms), now (ms). Scores only ever rise (GT), the
# key lives as long as its latest entry, and entries already dead are dropped on the way.
INDEX_ADD: Final = """
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] then
  redis.call('PEXPIREAT', KEYS[1], top[2])
end
return 1
"""

# KEYS[1] user index; ARGV now (ms). Drops dead entries, returns the rest with scores.
INDEX_LIVE: Final = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
"""

# KEYS[1] user index; ARGV pairs of id and score. Removes each id whose score is still the
# one seen, so an entry rewritten meanwhile (a touch, a new session) is left alone; an empty
# score removes the id whatever its score (its record was just deleted).
INDEX_FORGET: Final = """
local removed = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and (ARGV[i + 1] == '' or tonumber(score) == tonumber(ARGV[i + 1])) then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return removed
"""

# KEYS[1] record; ARGV SHA-1 of the value read, new value, new expiry (ms since the epoch).
# Compare and set: -1 if the record is gone, 0 if it changed since it was read, 1 if written.
RECORD_REPLACE: Final = """
local old = redis.call('GET', KEYS[1])
if not old then return -1 end
if redis.sha1hex(old) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
"""

# KEYS[1] record; ARGV SHA-1 of the value read. Compare and delete, answers as above.
RECORD_DELETE: Final = """
local old = redis.call('GET', KEYS[1])
if not old then return -1 end
if redis.sha1hex(old) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""


class Script:
    """One Lua script, called by digest with a fallback to its source."""

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    async def run(self, client: Any, key: bytes, *args: bytes | str | int) -> Any:
        """Run against one key on ``client`` (a standalone or cluster client)."""
        try:
            return await client.execute_command("EVALSHA", self.sha, 1, key, *args)
        except NoScriptError:
            return await client.execute_command("EVAL", self.source, 1, key, *args)

    async def run_many(
        self, client: Any, calls: Sequence[tuple[bytes, Sequence[bytes | str | int]]]
    ) -> list[Any]:
        """Run once per ``(key, args)`` in one pipeline; results in the order of ``calls``.

        A cluster client's pipeline sends each node its share at once, so this costs one
        round trip per node in parallel. Calls a node did not know the script for are sent
        again with the source. Any other error is raised.
        """
        if not calls:
            return []
        results = await self._pipeline(client, "EVALSHA", self.sha, calls)
        missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:
            retried = await self._pipeline(client, "EVAL", self.source, [calls[i] for i in missing])
            for i, result in zip(missing, retried, strict=True):
                results[i] = result
        for result in results:
            if isinstance(result, Exception):
                raise result
        return results

    @staticmethod
    async def _pipeline(
        client: Any,
        command: str,
        script: str,
        calls: Sequence[tuple[bytes, Sequence[bytes | str | int]]],
    ) -> list[Any]:
        pipe = client.pipeline(transaction=False)
        for key, args in calls:
            pipe.execute_command(command, script, 1, key, *args)
        results: list[Any] = await pipe.execute(raise_on_error=False)
        return results
