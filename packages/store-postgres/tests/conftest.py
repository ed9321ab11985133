"""Fixtures for the PostgreSQL store's tests: the real server, and a fresh schema per test.

The server comes from ``SESSIONUP_TEST_POSTGRES_URL`` (default: the local one). If it
cannot be reached the tests skip, or fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from postgres_support import drop_schema, unavailable

from sessionup.stores.postgres import PostgresStore

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
URL_VARIABLE = "SESSIONUP_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of the PostgreSQL server under test, checked to answer."""
    url = os.environ.get(URL_VARIABLE, DEFAULT_URL)
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        unavailable(f"PostgreSQL at {URL_VARIABLE}={url} cannot be reached: {exc}")
    return url


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    """A schema name no other run uses; dropped, with all it holds, after the test."""
    name = f"sessionup_test_{uuid.uuid4().hex[:12]}"
    yield name
    drop_schema(postgres_url, name)


@pytest.fixture
def make_store(postgres_url: str, schema: str) -> Callable[..., PostgresStore]:
    """Build stores over the test's schema; keyword options override the test defaults."""

    def make(**options: Any) -> PostgresStore:
        settings: dict[str, Any] = {
            "schema": schema,
            "max_size": 4,
            "connect_timeout": timedelta(seconds=3),
        }
        settings.update(options)
        return PostgresStore.from_url(postgres_url, **settings)

    return make


@pytest.fixture
def sql_conn(postgres_url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A plain autocommit connection, for looking at the tables behind the store's back."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        yield conn
