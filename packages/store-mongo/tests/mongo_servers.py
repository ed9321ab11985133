"""What the tests know about the MongoDB server they run against."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MongoServer:
    """A reachable server: its URL without a database, and whether it is the stand-in."""

    host_url: str
    stand_in: bool

    def url(self, database: str, **options: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in options.items())
        return f"{self.host_url.rstrip('/')}/{database}" + (f"?{query}" if query else "")
