"""The MongoDB store: one document per session, a user-key index, and a TTL index on expiry.

Reads filter on expiry themselves, because MongoDB's TTL monitor removes expired documents
only about once a minute. Every value a caller gives is type-checked and compared with
``$eq`` (or given to pymongo as a plain value), so no id or user key can act as a query
operator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Self, cast

import bson
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.errors import BSONError
from bson.raw_bson import RawBSONDocument
from pymongo import ASCENDING, AsyncMongoClient, ReadPreference
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from sessionup.core.errors import (
    DuplicateIDError,
    InvalidUserKeyError,
    StoreClosedError,
    StoreError,
    StoreURLError,
)
from sessionup.core.session import Session, datetime_to_micros
from sessionup.core.store import StoreBase, StoreTraits
from sessionup.core.tokens import id_ref

from .documents import LAYOUT_VERSION, instant, session_from_document, session_to_document
from .options import DEFAULT_URL, META_COLLECTION, MongoSettings, parse_settings

__all__ = ["MongoStore"]

logger = logging.getLogger(__name__)

_Document = dict[str, Any]

# How a document is decoded: UTC-aware datetimes; a date outside Python's range comes back
# as a raw millisecond count instead of failing the whole reply.
_CODEC: Final[CodecOptions[_Document]] = CodecOptions(
    tz_aware=True, tzinfo=UTC, datetime_conversion=DatetimeConversion.DATETIME_AUTO
)
# Session reads fetch raw BSON and decode each document on its own, so that one damaged
# document is skipped (and logged) without hiding the others.
_RAW_CODEC: Final[CodecOptions[RawBSONDocument]] = _CODEC.with_options(
    document_class=RawBSONDocument
)

# A conditional replace in touch loses only to a concurrent write that moved the same
# session's expiry (or deleted it); each retry re-reads, so a few attempts always suffice
# short of a storm of touches on one session.
_TOUCH_ATTEMPTS: Final = 8


class MongoStore(StoreBase):
    """Sessions in a MongoDB collection, through pymongo's ``AsyncMongoClient``.

    :param url: ``mongodb://`` or ``mongodb+srv://``; the path names the database
        (``sessionup`` if empty); query options are the store's own or pymongo's.
    :param collection: the collection holding the sessions (default ``sessions``).
    :param ensure_indexes: create the user-key and TTL indexes on open (default True);
        turn off where the application's user may not create indexes and they exist.
    :param client_options: further ``AsyncMongoClient`` keyword options, such as
        ``tlsCAFile`` or ``event_listeners``.

    The constructor does no I/O: the client connects on :meth:`open` or first use, when
    the store also checks the layout version recorded in ``sessionup_meta`` and creates
    its indexes.

    :raises StoreURLError: for a bad URL, name or option, at construction.
    """

    traits = StoreTraits(
        persistent=True, expiry_precision=timedelta(microseconds=1), native_ttl=True
    )

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        collection: str | None = None,
        ensure_indexes: bool | None = None,
        **client_options: Any,
    ) -> None:
        given = {"collection": collection, "ensure_indexes": ensure_indexes}
        ours = {name: value for name, value in given.items() if value is not None}
        self._settings: MongoSettings = parse_settings(url, ours, client_options)
        try:
            self._client: AsyncMongoClient[_Document] = AsyncMongoClient(
                self._settings.url, connect=False, **self._settings.client_options
            )
        except (PyMongoError, ValueError, TypeError) as exc:
            raise StoreURLError(f"MongoDB client option rejected: {exc}") from exc
        if not self._client.write_concern.acknowledged:
            raise StoreURLError(
                "option 'w=0' (unacknowledged writes) cannot be used: the store needs to know "
                "whether a session was created, deleted or touched"
            )
        # Always the primary, whatever readPreference the client has: a secondary may lag,
        # and a session revoked a moment ago must not be read back from it.
        database = self._client.get_database(
            self._settings.database, codec_options=_CODEC, read_preference=ReadPreference.PRIMARY
        )
        self._docs: AsyncCollection[_Document] = database.get_collection(self._settings.collection)
        # get_collection is typed as keeping the database's document class; this one's differs.
        self._raw = cast(
            "AsyncCollection[RawBSONDocument]",
            database.get_collection(self._settings.collection, codec_options=_RAW_CODEC),
        )
        self._meta: AsyncCollection[_Document] = database.get_collection(META_COLLECTION)
        self._open_lock = asyncio.Lock()
        self._ready = False
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """Build from a store URL; ``options`` are the store's own or pymongo's.

        ``open_store("mongodb://db.example/app?collection=web_sessions&tls=true")``
        """
        return cls(url, **options)

    @property
    def client(self) -> AsyncMongoClient[_Document]:
        """The underlying pymongo client, owned by the store (closed with it)."""
        return self._client

    @property
    def database_name(self) -> str:
        """The database the sessions live in."""
        return self._settings.database

    @property
    def collection_name(self) -> str:
        """The collection the sessions live in."""
        return self._settings.collection

    def __repr__(self) -> str:
        # Never the URL: it may hold a password.
        return f"MongoStore(database={self.database_name!r}, collection={self.collection_name!r})"

    async def open(self) -> None:
        """Connect, check the recorded layout version and create the indexes. Idempotent.

        :raises StoreError: if the server cannot be reached in time, or the collection was
            written with a layout this release does not read.
        """
        self._check_open()
        if self._ready:
            return
        async with self._open_lock:
            if self._ready:
                return
            with self._failures("open"):
                await self._check_layout()
                if self._settings.ensure_indexes:
                    await self._create_indexes()
            self._ready = True

    async def close(self) -> None:
        """Close the client. Idempotent; later calls raise ``StoreClosedError``."""
        if self._closed:
            return
        self._closed = True
        await self._client.close()

    async def create(self, session: Session) -> None:
        """Insert ``session``.

        An expired document with the same id (which the TTL monitor has not removed yet)
        is replaced: an expired session does not exist.

        :raises DuplicateIDError: if a live session has this id; it is left intact.
        """
        await self._ready_for_use()
        _check_encodable("session id", _checked_id(session.id))
        _check_encodable("user key", _checked_user_key(session.user_key))
        document = session_to_document(session)
        with self._failures("create a session"):
            try:
                await self._docs.insert_one(document)
                return
            except DuplicateKeyError:
                pass
            replacement = {k: v for k, v in document.items() if k != "_id"}
            result = await self._docs.replace_one(
                {"_id": {"$eq": session.id}, "expires_us": {"$lte": _now_us()}}, replacement
            )
        if result.matched_count == 0:
            # No driver error as the cause: its message quotes the raw id.
            raise DuplicateIDError(id_ref(session.id))

    async def fetch_by_id(self, id: str) -> Session | None:
        """The live session with this id, or None (also for a document that is damaged)."""
        await self._ready_for_use()
        if not _is_encodable(_checked_id(id)):
            return None
        with self._failures("fetch a session"):
            raw = await self._raw.find_one({"_id": {"$eq": id}, "expires_us": {"$gt": _now_us()}})
        return None if raw is None else _decode(raw)

    async def fetch_by_user_key(self, user_key: str) -> list[Session]:
        """The user's live sessions, in no particular order; an empty list if none."""
        await self._ready_for_use()
        if not _is_encodable(_checked_user_key(user_key)):
            return []
        query = {"user_key": {"$eq": user_key}, "expires_us": {"$gt": _now_us()}}
        with self._failures("fetch a user's sessions"):
            raws = [raw async for raw in self._raw.find(query)]
        return [s for s in map(_decode, raws) if s is not None]

    async def delete_by_id(self, id: str) -> bool:
        """Delete the session; True if a live one was deleted, False if absent or expired.

        An expired document with this id is removed too.
        """
        await self._ready_for_use()
        if not _is_encodable(_checked_id(id)):
            return False
        with self._failures("delete a session"):
            found = await self._docs.find_one_and_delete(
                {"_id": {"$eq": id}}, projection={"_id": False, "expires_us": True}
            )
        if found is None:
            return False
        expires = instant(found.get("expires_us"))
        return expires is not None and expires > _now_us()

    async def delete_by_user_key(self, user_key: str, *, except_ids: Collection[str] = ()) -> int:
        """Delete the user's live sessions but those in ``except_ids``; return how many.

        Ids in ``except_ids`` that belong to other users match nothing, so they are left
        alone. The user's expired documents are left to the TTL index.
        """
        await self._ready_for_use()
        if not _is_encodable(_checked_user_key(user_key)):
            return 0
        if isinstance(except_ids, str):
            raise TypeError("except_ids must be a collection of session ids, not one str")
        keep = [_checked_id(i) for i in except_ids]
        query: _Document = {"user_key": {"$eq": user_key}, "expires_us": {"$gt": _now_us()}}
        encodable = [i for i in keep if _is_encodable(i)]
        if encodable:
            query["_id"] = {"$nin": encodable}
        with self._failures("delete a user's sessions"):
            result = await self._docs.delete_many(query)
        return result.deleted_count

    async def touch(self, id: str, expires_at: datetime) -> bool:
        """Move a live session's expiry to ``expires_at`` if that is later.

        Returns True if the session is live (whether or not its expiry moved), and False,
        writing nothing, if it is absent or expired. The write is a ``replace_one``
        conditional on the expiry just read, retried if a concurrent write got there first,
        so expiry only ever moves forward and a deleted session is never written back.

        :raises ValueError: if ``expires_at`` is naive.
        :raises StoreError: if the server fails, or concurrent writes to this one session
            win every attempt.
        """
        await self._ready_for_use()
        if not _is_encodable(_checked_id(id)):
            return False
        if not isinstance(expires_at, datetime) or expires_at.utcoffset() is None:
            raise ValueError(f"touch needs a timezone-aware datetime, got {expires_at!r}")
        target = datetime_to_micros(expires_at)
        with self._failures("touch a session"):
            for _ in range(_TOUCH_ATTEMPTS):
                raw = await self._raw.find_one(
                    {"_id": {"$eq": id}, "expires_us": {"$gt": _now_us()}}
                )
                # A damaged document is no session, here as on every read.
                session = None if raw is None else _decode(raw)
                if session is None:
                    return False
                current = datetime_to_micros(session.expires_at)
                if target <= current:
                    return True
                # The whole document is rewritten from the session, with only the expiry
                # changed: no update operator is involved (see the README on the stand-in).
                moved = session_to_document(replace(session, expires_at=expires_at))
                del moved["_id"]
                result = await self._docs.replace_one(
                    {"_id": {"$eq": id}, "expires_us": {"$eq": current}}, moved
                )
                if result.matched_count:
                    return True
        raise StoreError(f"touch lost {_TOUCH_ATTEMPTS} races with concurrent writes in a row")

    async def delete_expired(self, *, limit: int | None = None) -> int:
        """Remove expired sessions the TTL monitor has not reached yet; return how many.

        :param limit: remove at most this many (a positive int), for batched purges.
        """
        await self._ready_for_use()
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
        if limit == 0:
            return 0
        now = datetime.now(UTC)
        # The date (indexed, milliseconds rounded down) narrows the search; the exact
        # microseconds decide. A date at or before now is the floor of an instant that may
        # still be up to a millisecond ahead.
        query: _Document = {
            "expires_at": {"$lte": now},
            "expires_us": {"$lte": datetime_to_micros(now)},
        }
        with self._failures("delete expired sessions"):
            if limit is not None:
                cursor = self._docs.find(query, projection={"_id": True}).limit(limit)
                ids = [document["_id"] async for document in cursor]
                if not ids:
                    return 0
                query = {"_id": {"$in": ids}, **query}
            result = await self._docs.delete_many(query)
        return result.deleted_count

    async def _ready_for_use(self) -> None:
        self._check_open()
        if not self._ready:
            await self.open()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError("the MongoDB store is closed")

    async def _check_layout(self) -> None:
        key = {"_id": self._settings.collection}
        record = await self._meta.find_one(key)
        if record is None:
            try:
                await self._meta.insert_one({**key, "layout": LAYOUT_VERSION})
                return
            except DuplicateKeyError:
                # Another process recorded it first; read what it wrote.
                record = await self._meta.find_one(key)
        layout = None if record is None else record.get("layout")
        if layout != LAYOUT_VERSION:
            raise StoreError(
                f"collection {self._settings.collection!r} holds sessionup layout {layout!r}, "
                f"and this release reads layout {LAYOUT_VERSION}"
            )

    async def _create_indexes(self) -> None:
        await self._docs.create_index([("user_key", ASCENDING)], name="user_key")
        # expireAfterSeconds=0: a document goes at its own expires_at.
        await self._docs.create_index(
            [("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0
        )

    @contextmanager
    def _failures(self, action: str) -> Iterator[None]:
        try:
            yield
        except (PyMongoError, BSONError) as exc:
            raise StoreError(f"MongoDB store could not {action}: {exc}") from exc


def _now_us() -> int:
    return datetime_to_micros(datetime.now(UTC))


def _checked_id(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"a session id must be a str, got {type(value).__name__}")
    return value


def _checked_user_key(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidUserKeyError(f"a user key must be a str, got {type(value).__name__}")
    return value


def _is_encodable(value: str) -> bool:
    """Whether BSON can hold ``value``; a string with lone surrogates can never be stored."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_encodable(what: str, value: str) -> None:
    if not _is_encodable(value):
        raise StoreError(f"the {what} is not valid Unicode (lone surrogates); MongoDB stores UTF-8")


def _decode(raw: RawBSONDocument) -> Session | None:
    try:
        document = bson.decode(raw.raw, codec_options=_CODEC)
        return session_from_document(document)
    except (BSONError, ValueError, TypeError, KeyError) as exc:
        reference = _raw_id_ref(raw)
        logger.warning("mongo store: skipping undecodable session %s: %s", reference, exc)
        return None


def _raw_id_ref(raw: RawBSONDocument) -> str:
    try:
        value = raw["_id"]
    except (BSONError, KeyError, ValueError):
        return "(unreadable id)"
    return id_ref(value) if isinstance(value, str) else f"(non-string id {type(value).__name__})"
