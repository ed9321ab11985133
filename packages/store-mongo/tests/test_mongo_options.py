"""URL and option handling: all checked at construction, with no server needed."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from pymongo import ReadPreference

from sessionup.core import StoreURLError, available_stores, open_store
from sessionup.stores.mongo import MongoStore
from sessionup.stores.mongo.options import DEFAULT_TIMEOUTS, parse_settings


def test_database_comes_from_the_path_and_collection_from_an_option() -> None:
    store = open_store("mongodb://db.example:27017/app?collection=web_sessions")

    assert isinstance(store, MongoStore)
    assert store.database_name == "app"
    assert store.collection_name == "web_sessions"


def test_defaults_are_the_sessionup_database_and_sessions_collection() -> None:
    store = MongoStore("mongodb://db.example")

    assert (store.database_name, store.collection_name) == ("sessionup", "sessions")


def test_srv_scheme_is_accepted_without_a_dns_lookup() -> None:
    store = open_store("mongodb+srv://cluster0.example.invalid/app")

    assert isinstance(store, MongoStore)
    assert store.database_name == "app"


def test_both_schemes_are_registered_by_the_plugin() -> None:
    schemes = {info.scheme: info for info in available_stores()}

    assert schemes["mongodb"].distribution == "sessionup-store-mongo"
    assert schemes["mongodb+srv"].version == "0.1.0"


def test_plugin_module_does_not_import_pymongo() -> None:
    code = (
        "import sys, sessionup.stores.mongo.plugin as p; p.sessionup_store_schemes(); "
        "print('pymongo' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"


def test_short_timeouts_apply_unless_overridden() -> None:
    defaults = parse_settings("mongodb://h/db", {}, {})
    from_url = parse_settings("mongodb://h/db?serverselectiontimeoutms=9000", {}, {})
    from_keyword = parse_settings("mongodb://h/db", {}, {"timeoutMS": 100})

    assert defaults.client_options == dict(DEFAULT_TIMEOUTS)
    assert from_url.client_options["serverselectiontimeoutms"] == "9000"
    assert "serverSelectionTimeoutMS" not in from_url.client_options
    assert from_keyword.client_options["timeoutMS"] == 100


def test_pymongo_options_pass_through_to_the_client() -> None:
    store = MongoStore("mongodb://h/db?appname=shop&maxPoolSize=7", retryWrites=False)

    options = store.client.options
    assert options.pool_options.max_pool_size == 7
    assert options.retry_writes is False
    assert options.server_selection_timeout == 2.0
    assert options.timeout == 3.0


def test_store_options_are_type_checked() -> None:
    with pytest.raises(StoreURLError, match="ensure_indexes"):
        open_store("mongodb://h/db?ensure_indexes=maybe")
    with pytest.raises(StoreURLError, match="collection"):
        open_store("mongodb://h/db", collection=5)

    assert parse_settings("mongodb://h/db?ensure_indexes=false", {}, {}).ensure_indexes is False


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        ("mongodb://h/db?colection=x", {}, "unknown option 'colection'"),
        ("mongodb://h/db", {"sweep_interval": timedelta(1)}, "unknown option 'sweep_interval'"),
        ("mongodb://h/db?collection=a", {"collection": "b"}, "given both"),
        ("mongodb://h/db?maxPoolSize=1", {"maxpoolsize": 2}, "given both"),
        ("mongodb://h/db?tz_aware=false", {}, "set by the mongodb:// store"),
        ("mongodb://h/db", {"document_class": dict}, "set by the mongodb:// store"),
        ("mongodb://h/db?collection=", {}, "must not be empty"),
        ("mongodb://h/db?collection=a$b", {}, "must not hold"),
        ("mongodb://h/db?collection=system.users", {}, "reserved"),
        ("mongodb://h/db?collection=sessionup_meta", {}, "reserved"),
        ("mongodb://h/a.b", {}, "forbidden characters"),
        ("mongodb://h/" + "d" * 64, {}, "64 bytes"),
        ("mongodb://h/db?serverSelectionTimeoutMS=soon", {}, "client option rejected"),
        ("mongodb://h:99999/db", {}, "client option rejected"),
        ("mongodb://h/db?w=0", {}, "unacknowledged"),
    ],
)
def test_bad_urls_and_options_raise_a_clear_error(
    url: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(StoreURLError, match=message):
        MongoStore.from_url(url, **options)


def test_other_schemes_are_refused() -> None:
    with pytest.raises(StoreURLError, match="mongodb://"):
        MongoStore("redis://h/0")


def test_repr_never_shows_the_password() -> None:
    store = MongoStore("mongodb://app:s3cret@h/db")

    assert "s3cret" not in repr(store)


def test_sessions_are_always_read_from_the_primary() -> None:
    store = MongoStore("mongodb://h/db?readPreference=secondaryPreferred")

    assert store.client.read_preference.mode == ReadPreference.SECONDARY_PREFERRED.mode
    assert store._docs.read_preference == ReadPreference.PRIMARY
    assert store._raw.read_preference == ReadPreference.PRIMARY
