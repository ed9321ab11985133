"""MongoStore over TCP against the stand-in, or the server SESSIONUP_TEST_MONGO_URL names."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from mongo_servers import MongoServer
from pymongo import MongoClient

from sessionup.core import (
    Agent,
    DuplicateIDError,
    InvalidUserKeyError,
    Session,
    StoreClosedError,
    StoreError,
)
from sessionup.core.session import datetime_to_micros
from sessionup.core.tokens import id_ref
from sessionup.stores.mongo import MongoStore

SyncClient = MongoClient[dict[str, object]]

HOSTILE = ["*", "?", "[", '{"$ne": ""}', "' OR 1=1--", "../x", "a.b", "$where", "é\u2603\U0001f600"]


def make_session(
    id: str = "s1",
    user_key: str = "alice",
    *,
    expires_in: timedelta = timedelta(hours=1),
    **fields: object,
) -> Session:
    now = datetime.now(UTC)
    return Session(
        id=id,
        user_key=user_key,
        created_at=now,
        expires_at=now + expires_in,
        **fields,  # type: ignore[arg-type]
    )


@pytest_asyncio.fixture
async def store(store_url: str) -> AsyncIterator[MongoStore]:
    async with MongoStore.from_url(store_url) as opened:
        yield opened


async def test_a_session_reads_back_equal_to_the_one_written(store: MongoStore) -> None:
    session = Session(
        id="s1",
        user_key="alice",
        created_at=datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        expires_at=datetime.now(UTC).replace(microsecond=654321) + timedelta(days=1),
        ip=ipaddress.ip_address("2001:db8::1"),
        agent=Agent(os="Linux", browser="Firefox"),
        meta={"$ne": "1", "a.b": "2", "plain": "é\u2603"},
    )

    await store.create(session)
    fetched = await store.fetch_by_id("s1")

    assert fetched == session
    assert fetched is not None
    assert fetched.expires_at.tzinfo is UTC
    assert fetched.expires_at.microsecond == 654321
    assert dict(fetched.meta) == {"$ne": "1", "a.b": "2", "plain": "é\u2603"}


async def test_document_holds_bson_dates_and_exact_microseconds(
    store: MongoStore, sync_client: SyncClient
) -> None:
    session = make_session()

    await store.create(session)
    document = sync_client[store.database_name][store.collection_name].find_one({"_id": "s1"})

    assert document is not None
    assert document["v"] == 1
    assert document["user_key"] == "alice"
    assert isinstance(document["expires_at"], datetime)
    floor = session.expires_at.replace(microsecond=session.expires_at.microsecond // 1000 * 1000)
    assert document["expires_at"] == floor
    assert document["expires_us"] == datetime_to_micros(session.expires_at)


async def test_indexes_on_user_key_and_ttl_on_expiry_exist(
    store: MongoStore, sync_client: SyncClient
) -> None:
    indexes = sync_client[store.database_name][store.collection_name].index_information()

    by_key = {tuple(field for field, _ in spec["key"]): spec for spec in indexes.values()}
    assert ("user_key",) in by_key
    assert by_key[("expires_at",)]["expireAfterSeconds"] == 0


async def test_layout_version_is_recorded(store: MongoStore, sync_client: SyncClient) -> None:
    record = sync_client[store.database_name]["sessionup_meta"].find_one(
        {"_id": store.collection_name}
    )

    assert record is not None
    assert record["layout"] == 1


async def test_a_newer_layout_is_refused_on_open(
    store_url: str, collection_name: str, test_database: str, sync_client: SyncClient
) -> None:
    sync_client[test_database]["sessionup_meta"].insert_one({"_id": collection_name, "layout": 2})

    with pytest.raises(StoreError, match="layout 2"):
        async with MongoStore.from_url(store_url):
            pass


async def test_duplicate_id_is_refused_and_the_original_kept(store: MongoStore) -> None:
    original = make_session(user_key="alice")

    await store.create(original)
    with pytest.raises(DuplicateIDError):
        await store.create(make_session(user_key="mallory"))

    assert await store.fetch_by_id("s1") == original


async def test_an_expired_document_does_not_block_its_id(store: MongoStore) -> None:
    await store.create(make_session(expires_in=-timedelta(seconds=5)))
    fresh = make_session(user_key="bob")

    await store.create(fresh)

    assert await store.fetch_by_id("s1") == fresh


async def test_expired_sessions_are_never_read_whatever_the_ttl_monitor_did(
    store: MongoStore,
) -> None:
    await store.create(make_session("gone", expires_in=-timedelta(microseconds=1)))
    await store.create(make_session("live"))

    assert await store.fetch_by_id("gone") is None
    assert [s.id for s in await store.fetch_by_user_key("alice")] == ["live"]
    assert await store.touch("gone", datetime.now(UTC) + timedelta(hours=1)) is False
    assert await store.delete_by_id("gone") is False


async def test_expiry_is_compared_to_the_microsecond(store: MongoStore) -> None:
    await store.create(make_session(expires_in=timedelta(milliseconds=300)))

    assert await store.fetch_by_id("s1") is not None
    await asyncio.sleep(0.31)

    assert await store.fetch_by_id("s1") is None


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_operator_and_glob_characters_are_plain_data(store: MongoStore, hostile: str) -> None:
    await store.create(make_session("victim", "victim-user"))
    await store.create(make_session(hostile, hostile))

    assert (await store.fetch_by_id(hostile)) is not None
    assert [s.id for s in await store.fetch_by_user_key(hostile)] == [hostile]
    assert await store.delete_by_user_key(hostile) == 1

    assert await store.fetch_by_id("victim") is not None
    assert await store.fetch_by_id(hostile) is None


async def test_non_string_ids_and_user_keys_are_refused_before_any_query(store: MongoStore) -> None:
    await store.create(make_session())
    operator: object = {"$ne": ""}

    with pytest.raises(TypeError, match="session id must be a str"):
        await store.fetch_by_id(operator)  # type: ignore[arg-type]
    with pytest.raises(InvalidUserKeyError, match="user key must be a str"):
        await store.fetch_by_user_key(operator)  # type: ignore[arg-type]
    with pytest.raises(InvalidUserKeyError):
        await store.delete_by_user_key(operator)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await store.delete_by_user_key("alice", except_ids=[operator])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        await store.delete_by_id(operator)  # type: ignore[arg-type]

    assert await store.fetch_by_id("s1") is not None


async def test_ids_that_utf8_cannot_hold_are_no_session(store: MongoStore) -> None:
    lone = "\ud800abc"

    assert await store.fetch_by_id(lone) is None
    assert await store.fetch_by_user_key(lone) == []
    assert await store.delete_by_id(lone) is False
    with pytest.raises(StoreError, match="not valid Unicode"):
        await store.create(make_session(lone))


async def test_touch_moves_expiry_later_only(store: MongoStore) -> None:
    session = make_session()
    await store.create(session)
    later = session.expires_at + timedelta(minutes=5, microseconds=7)

    assert await store.touch("s1", later) is True
    assert await store.touch("s1", session.expires_at) is True

    fetched = await store.fetch_by_id("s1")
    assert fetched is not None
    assert fetched.expires_at == later
    assert fetched.created_at == session.created_at


async def test_touch_of_an_absent_or_expired_session_writes_nothing(
    store: MongoStore, sync_client: SyncClient
) -> None:
    await store.create(make_session("old", expires_in=-timedelta(seconds=1)))
    collection = sync_client[store.database_name][store.collection_name]
    before = collection.find_one({"_id": "old"})

    assert await store.touch("absent", datetime.now(UTC) + timedelta(hours=1)) is False
    assert await store.touch("old", datetime.now(UTC) + timedelta(hours=1)) is False

    assert collection.find_one({"_id": "absent"}) is None
    assert collection.find_one({"_id": "old"}) == before


async def test_touch_updates_the_ttl_date_too(store: MongoStore, sync_client: SyncClient) -> None:
    session = make_session()
    await store.create(session)
    later = session.expires_at + timedelta(hours=2)

    await store.touch("s1", later)

    document = sync_client[store.database_name][store.collection_name].find_one({"_id": "s1"})
    assert document is not None
    assert document["expires_at"] == later.replace(microsecond=later.microsecond // 1000 * 1000)


async def test_touch_requires_an_aware_datetime(store: MongoStore) -> None:
    await store.create(make_session())

    with pytest.raises(ValueError, match="timezone-aware"):
        await store.touch("s1", datetime.now() + timedelta(hours=1))


async def test_concurrent_touches_keep_the_latest_expiry(store_url: str) -> None:
    session = make_session()
    targets = [session.expires_at + timedelta(seconds=n) for n in range(1, 21)]
    stores = [MongoStore.from_url(store_url) for _ in range(4)]
    for each in stores:
        await each.open()
    await stores[0].create(session)

    results = await asyncio.gather(
        *(stores[i % 4].touch("s1", target) for i, target in enumerate(reversed(targets)))
    )

    fetched = await stores[0].fetch_by_id("s1")
    for each in stores:
        await each.close()
    assert all(results)
    assert fetched is not None
    assert fetched.expires_at == targets[-1]


async def test_touch_racing_a_delete_never_brings_the_session_back(store_url: str) -> None:
    async with MongoStore.from_url(store_url) as one, MongoStore.from_url(store_url) as two:
        for round_ in range(20):
            session = make_session(f"r{round_}")
            await one.create(session)

            await asyncio.gather(
                one.touch(session.id, session.expires_at + timedelta(hours=1)),
                two.delete_by_id(session.id),
            )

            assert await one.fetch_by_id(session.id) is None


async def test_delete_by_user_key_spares_except_ids_and_other_users(store: MongoStore) -> None:
    await store.create(make_session("a1", "alice"))
    await store.create(make_session("a2", "alice"))
    await store.create(make_session("b1", "bob"))

    count = await store.delete_by_user_key("alice", except_ids=["a2", "b1"])

    assert count == 1
    assert [s.id for s in await store.fetch_by_user_key("alice")] == ["a2"]
    assert await store.fetch_by_id("b1") is not None


async def test_delete_by_id_reports_only_live_sessions(store: MongoStore) -> None:
    await store.create(make_session("live"))
    await store.create(make_session("dead", expires_in=-timedelta(seconds=1)))

    assert await store.delete_by_id("live") is True
    assert await store.delete_by_id("live") is False
    assert await store.delete_by_id("dead") is False


async def test_delete_expired_removes_in_batches_up_to_the_limit(
    mongo_server: MongoServer, test_database: str, collection_name: str, sync_client: SyncClient
) -> None:
    # Without the TTL index no monitor (MongoDB's, or the stand-in's purge on every read)
    # removes anything first, so the counts are exact on either server.
    url = mongo_server.url(test_database, collection=collection_name, ensure_indexes="false")
    async with MongoStore.from_url(url) as store:
        for n in range(5):
            await store.create(make_session(f"e{n}", expires_in=-timedelta(seconds=1)))
        await store.create(make_session("keep"))

        first = await store.delete_expired(limit=3)
        rest = await store.delete_expired(limit=3)
        after = await store.delete_expired()

        assert (first, rest, after) == (3, 2, 0)
        assert await store.fetch_by_id("keep") is not None
    assert sync_client[test_database][collection_name].count_documents({}) == 1


async def test_delete_expired_leaves_no_expired_document_behind(
    store: MongoStore, sync_client: SyncClient
) -> None:
    for n in range(5):
        await store.create(make_session(f"e{n}", expires_in=-timedelta(seconds=1)))
    await store.create(make_session("keep"))

    removed = await store.delete_expired()

    assert 0 <= removed <= 5
    assert sync_client[store.database_name][store.collection_name].count_documents({}) == 1
    assert await store.fetch_by_id("keep") is not None


async def test_a_damaged_document_is_logged_and_skipped(
    store: MongoStore, sync_client: SyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await store.create(make_session("good"))
    await store.create(make_session("bad"))
    collection = sync_client[store.database_name][store.collection_name]
    collection.replace_one({"_id": "bad"}, {**collection.find_one({"_id": "bad"}), "meta": "x"})  # type: ignore[dict-item]

    with caplog.at_level(logging.WARNING, logger="sessionup.stores.mongo"):
        by_id = await store.fetch_by_id("bad")
        by_user = await store.fetch_by_user_key("alice")

    assert by_id is None
    assert [s.id for s in by_user] == ["good"]
    assert f"undecodable session {id_ref('bad')}" in caplog.text


async def test_a_damaged_document_is_not_touched(
    store: MongoStore, sync_client: SyncClient
) -> None:
    await store.create(make_session())
    collection = sync_client[store.database_name][store.collection_name]
    collection.update_one({"_id": "s1"}, {"$set": {"ip": "not an address"}})
    before = collection.find_one({"_id": "s1"})

    touched = await store.touch("s1", datetime.now(UTC) + timedelta(days=1))

    assert touched is False
    assert collection.find_one({"_id": "s1"}) == before


async def test_a_session_with_a_non_string_user_key_is_refused(store: MongoStore) -> None:
    session = make_session(user_key={"$ne": ""})  # type: ignore[arg-type]

    with pytest.raises(InvalidUserKeyError):
        await store.create(session)

    assert await store.fetch_by_id("s1") is None


async def test_an_older_document_layout_is_no_session(
    store: MongoStore, sync_client: SyncClient
) -> None:
    await store.create(make_session())
    collection = sync_client[store.database_name][store.collection_name]
    document = collection.find_one({"_id": "s1"})
    assert document is not None
    collection.replace_one({"_id": "s1"}, {**document, "v": 0})

    assert await store.fetch_by_id("s1") is None


async def test_a_second_instance_reads_what_the_first_wrote(store_url: str) -> None:
    session = make_session()
    async with MongoStore.from_url(store_url) as first:
        await first.create(session)

    async with MongoStore.from_url(store_url) as second:
        assert await second.fetch_by_id("s1") == session


async def test_close_is_idempotent_and_use_after_close_raises(store_url: str) -> None:
    store = MongoStore.from_url(store_url)
    await store.open()

    await store.close()
    await store.close()

    with pytest.raises(StoreClosedError):
        await store.fetch_by_id("s1")
    with pytest.raises(StoreClosedError):
        await store.open()


async def test_first_use_opens_the_store(store_url: str, sync_client: SyncClient) -> None:
    store = MongoStore.from_url(store_url)

    assert await store.fetch_by_id("s1") is None

    database = sync_client[store.database_name]
    assert database["sessionup_meta"].find_one({"_id": store.collection_name}) is not None
    await store.close()


async def test_an_unreachable_server_fails_fast_with_a_store_error() -> None:
    store = MongoStore("mongodb://127.0.0.1:9/db?serverSelectionTimeoutMS=300&timeoutMS=500")
    started = time.monotonic()

    with pytest.raises(StoreError) as raised:
        await store.fetch_by_id("s1")

    assert time.monotonic() - started < 5
    assert raised.value.__cause__ is not None
    await store.close()


def test_the_fixture_knows_which_server_it_is(mongo_server: MongoServer) -> None:
    info = MongoClient(mongo_server.host_url).admin.command("buildInfo")

    assert mongo_server.stand_in == (info.get("process") == "nx_27017")
