"""URLs and options: ours type-checked, libpq's passed on, anything else refused."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from psycopg.conninfo import conninfo_to_dict

from sessionup.core import StoreURLError, available_stores, open_store
from sessionup.stores.postgres import PostgresStore


def test_both_schemes_open_a_postgres_store() -> None:
    for url in ("postgresql://u@db.example/app", "postgres://u@db.example/app"):
        store = open_store(url)

        assert isinstance(store, PostgresStore)


def test_the_plugin_lists_both_schemes_with_its_distribution() -> None:
    found = {info.scheme: info for info in available_stores()}

    assert found["postgresql"].distribution == "sessionup-store-postgres"
    assert found["postgres"].version == "0.1.0"


def test_the_plugin_module_imports_no_driver() -> None:
    code = (
        "import sys, sessionup.stores.postgres.plugin as p; p.sessionup_store_schemes();"
        "print(sorted(m for m in sys.modules if m.startswith('psycopg')))"
    )

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"


def test_our_options_are_split_from_libpq_parameters() -> None:
    url = (
        "postgresql://app:s%40cret@db.example:6432/app?sslmode=require&schema=auth"
        "&application_name=web&max_size=20&table=web_sessions&statement_timeout=2.5"
    )

    store = PostgresStore.from_url(url)

    params = conninfo_to_dict(store._settings.conninfo)
    assert params["sslmode"] == "require"
    assert params["application_name"] == "web"
    assert params["password"] == "s@cret"
    assert params["port"] == "6432"
    assert "schema" not in params
    assert "max_size" not in params
    assert (store.schema, store.table) == ("auth", "web_sessions")
    assert store._settings.max_size == 20
    assert store._settings.statement_timeout == timedelta(seconds=2.5)


def test_libpq_parameters_may_come_as_keywords() -> None:
    store = open_store("postgresql://u@db.example/app", sslmode="verify-full", keepalives=1)

    params = conninfo_to_dict(store._settings.conninfo)  # type: ignore[attr-defined]
    assert params["sslmode"] == "verify-full"
    assert params["keepalives"] == "1"


def test_a_socket_directory_url_keeps_its_host() -> None:
    store = PostgresStore.from_url("postgresql:///app?host=/var/run/postgresql&schema=s")

    params = conninfo_to_dict(store._settings.conninfo)
    assert params["host"] == "/var/run/postgresql"
    assert params["dbname"] == "app"


def test_connect_timeout_is_ours_and_reaches_libpq_in_whole_seconds() -> None:
    store = PostgresStore.from_url("postgresql://u@h/app?connect_timeout=0.5")

    params = conninfo_to_dict(store._settings.conninfo)
    assert store._settings.connect_timeout == timedelta(seconds=0.5)
    assert params["connect_timeout"] == "2"


def test_defaults_name_the_application_and_force_utf8() -> None:
    store = PostgresStore.from_url("postgresql://u@h/app")

    params = conninfo_to_dict(store._settings.conninfo)
    assert params["fallback_application_name"] == "sessionup"
    assert params["client_encoding"] == "UTF8"
    assert store._settings.prepare_threshold == 5


def test_pgbouncer_mode_turns_prepared_statements_off() -> None:
    store = PostgresStore.from_url("postgresql://u@h/app?pgbouncer=true")

    assert store._settings.pgbouncer is True
    assert store._settings.prepare_threshold is None


def test_prepare_threshold_is_an_integer_option() -> None:
    store = PostgresStore.from_url("postgresql://u@h/app?prepare_threshold=0")

    assert store._settings.prepare_threshold == 0


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        ("postgresql://u@h/app?bogus=1", {}, "'bogus'"),
        ("postgresql://u@h/app", {"bogus": "1"}, "'bogus'"),
        ("postgresql://u@h/app?max_size=many", {}, "'max_size'"),
        ("postgresql://u@h/app?max_size=0", {}, "'max_size'"),
        ("postgresql://u@h/app?min_size=5&max_size=2", {}, "'min_size'"),
        ("postgresql://u@h/app?pgbouncer=maybe", {}, "'pgbouncer'"),
        ("postgresql://u@h/app?statement_timeout=-1", {}, "'statement_timeout'"),
        ("postgresql://u@h/app?prepare_threshold=-1", {}, "'prepare_threshold'"),
        ("postgresql://u@h/app?purge_batch_size=0", {}, "'purge_batch_size'"),
        ("postgresql://u@h/app?schema=", {}, "'schema'"),
        ("postgresql://u@h/app?table=" + "t" * 49, {}, "'table'"),
        ("postgresql://u@h/app?schema=a&schema=b", {}, "twice"),
        ("postgresql://u@h/app?schema=a", {"schema": "b"}, "both"),
        ("postgresql://u@h/app?sslmode=require", {"sslmode": "disable"}, "both"),
        ("postgresql://u@h/app?client_encoding=latin1", {}, "client_encoding"),
        ("postgresql://u@h/app", {"sslmode": True}, "'sslmode'"),
        ("postgresql://u@h:notaport/app", {}, "port"),
        ("postgresql://u@h/app", {"max_size": "3x"}, "'max_size'"),
        ("postgresql://u@h/app", {"connect_timeout": 5}, "'connect_timeout'"),
    ],
)
def test_bad_urls_and_options_are_refused_by_name(
    url: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(StoreURLError, match=message):
        open_store(url, **options)


def test_the_constructor_takes_a_keyword_conninfo_string() -> None:
    store = PostgresStore("host=db.example dbname=app user=u", libpq={"sslmode": "require"})

    params = conninfo_to_dict(store._settings.conninfo)
    assert (params["host"], params["dbname"], params["sslmode"]) == ("db.example", "app", "require")


def test_an_unknown_option_error_lists_ours() -> None:
    with pytest.raises(StoreURLError) as caught:
        open_store("postgresql://u@h/app?pool_size=3")

    assert "max_size" in str(caught.value)
    assert "libpq" in str(caught.value)
