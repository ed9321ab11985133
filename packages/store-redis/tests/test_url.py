"""URLs, options and the plugin: everything decided before a connection is made."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from sessionup.core import StoreURLError, available_stores, open_store
from sessionup.stores.redis import RedisStore
from sessionup.stores.redis._keys import KeyLayout
from sessionup.stores.redis._url import parse_target


def test_every_scheme_opens_a_redis_store_through_the_core() -> None:
    urls = [
        "redis://127.0.0.1:6379/0",
        "rediss://cache.example:6380/2",
        "unix:///run/redis.sock?db=3",
        "redis+cluster://10.0.0.1:7000,10.0.0.2:7001",
        "rediss+cluster://node.example:7000",
    ]

    stores = [open_store(url) for url in urls]

    assert all(isinstance(store, RedisStore) for store in stores)
    assert [store.cluster for store in stores] == [False, False, False, True, True]  # type: ignore[attr-defined]


def test_available_stores_lists_the_five_schemes_of_this_distribution() -> None:
    ours = {i.scheme for i in available_stores() if i.distribution == "sessionup-store-redis"}

    assert ours == {"redis", "rediss", "unix", "redis+cluster", "rediss+cluster"}


def test_the_plugin_module_imports_no_driver() -> None:
    code = (
        "import sys; import sessionup.stores.redis.plugin as p; p.sessionup_store_schemes(); "
        "print('redis' in sys.modules)"
    )

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "False"


def test_query_options_are_converted_to_their_types() -> None:
    store = RedisStore.from_url(
        "redis://127.0.0.1/0?prefix=app:v1:&pool_size=4&socket_timeout=0.5"
        "&connect_timeout=1.5&pool_timeout=3&retries=0&client_name=web"
    )

    assert store.prefix == "app:v1:"
    assert store._pool_size == 4
    assert store._connection["socket_timeout"] == 0.5
    assert store._connection["socket_connect_timeout"] == 1.5
    assert store._pool_timeout == 3.0
    assert store._connection["client_name"] == "web"


def test_a_prefix_may_hold_any_character_when_percent_encoded() -> None:
    store = RedisStore.from_url("redis://h/0?prefix=a%3Ab%7Bc%7D%2A%3F%26%3D")

    assert store.prefix == "a:b{c}*?&="


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://h/0?colour=red", "unknown option 'colour'"),
        ("redis://h/0?pool_size=many", "'pool_size'"),
        ("redis://h/0?pool_size=0", "'pool_size' must be an integer >= 1"),
        ("redis://h/0?socket_timeout=-1", "'socket_timeout' must be a positive"),
        ("redis://h/0?retries=-1", "'retries'"),
        ("redis://h/0?prefix=", "'prefix' must be a non-empty"),
        ("redis://h/0?prefix=a&prefix=b", "given twice"),
        ("redis://h/0?ssl_ca_certs=/ca.pem", "need a rediss URL"),
        ("rediss://h/0?ssl_cert_reqs=maybe", "'ssl_cert_reqs' must be one of"),
        ("redis://h/x", "database must be a number"),
        ("redis://h/1?db=2", "database given twice"),
        ("redis://h:99999/0", "port must be 1 to 65535"),
        ("redis://a:1,b:2/0", "for a Redis Cluster use redis+cluster://"),
        ("redis+cluster://a:1,b:2/3", "only database 0"),
        ("redis+cluster://a:1?db=1", "only database 0"),
        ("redis+cluster://a:1,,b:2", "empty host"),
        ("redis://::1:6379", "must be bracketed"),
        ("unix://host/sock", "must name a socket path"),
        ("memcached://h", "scheme must be one of"),
    ],
)
def test_bad_urls_and_options_name_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(StoreURLError, match=message.replace("?", r"\?").replace("+", r"\+")):
        RedisStore.from_url(url)


def test_an_option_in_the_url_and_as_an_argument_is_an_error() -> None:
    with pytest.raises(StoreURLError, match="both in the URL and as arguments: prefix"):
        RedisStore.from_url("redis://h/0?prefix=a:", prefix="b:")


def test_options_passed_as_objects_must_have_their_type() -> None:
    with pytest.raises(StoreURLError, match=r"'socket_timeout'.*must be timedelta"):
        RedisStore.from_url("redis://h/0", socket_timeout=1.0)

    store = RedisStore.from_url("redis://h/0", socket_timeout=timedelta(milliseconds=250))
    assert store._connection["socket_timeout"] == 0.25


def test_cluster_urls_list_their_seed_nodes_and_credentials() -> None:
    target = parse_target("rediss+cluster://app:s%40cret@[::1]:7000,node-2:7001,node-3")

    assert target.cluster
    assert target.tls
    assert target.nodes == (("::1", 7000), ("node-2", 7001), ("node-3", 6379))
    assert (target.username, target.password) == ("app", "s@cret")
    assert "s@cret" not in repr(target)
    assert "s@cret" not in target.describe()


def test_standalone_urls_keep_database_and_socket_path() -> None:
    assert parse_target("redis://h:6380/5").db == 5
    assert parse_target("redis://:pw@h").password == "pw"
    assert parse_target("unix:///var/run/redis/redis.sock").socket_path == (
        "/var/run/redis/redis.sock"
    )


def test_the_constructor_does_no_io() -> None:
    # Port 1 has nothing listening: building the store must still succeed at once.
    store = RedisStore("redis://127.0.0.1:1/0")

    assert repr(store) == "RedisStore('redis://127.0.0.1:1', prefix='sessionup:')"


def test_data_never_opens_a_hash_tag_in_a_key() -> None:
    keys = KeyLayout("app:")

    assert keys.record("a{b}c") == b"app:s:a%7Bb%7Dc"
    assert keys.index("{user}*") == b"app:u:%7Buser%7D*"
    # Escaping is reversible, so distinct ids never share a key.
    assert keys.record("%7B") != keys.record("{")
    assert keys.record("\ud800") == b"app:s:\xed\xa0\x80"
