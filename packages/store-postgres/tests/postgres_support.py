"""Helpers the PostgreSQL store's test modules share (fixtures live in conftest.py)."""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql

from sessionup.core import Agent, Session

HOUR = timedelta(hours=1)


def session(
    id: str,
    user_key: str = "alice",
    *,
    expires_in: timedelta = HOUR,
    meta: dict[str, str] | None = None,
    ip: str | None = "192.0.2.10",
) -> Session:
    """A session created now, expiring ``expires_in`` from now (in the past if negative)."""
    now = datetime.now(UTC)
    return Session(
        id=id,
        user_key=user_key,
        created_at=now,
        expires_at=now + expires_in,
        ip=None if ip is None else ipaddress.ip_address(ip),
        agent=Agent(os="Linux", browser="Firefox"),
        meta=meta or {},
    )


def unavailable(message: str) -> NoReturn:
    """Skip, or fail under CI, because a server the tests need is not there."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def drop_schema(url: str, schema: str) -> None:
    """Drop ``schema`` and all it holds, if it exists."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
