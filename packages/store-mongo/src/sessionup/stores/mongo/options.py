"""From a ``mongodb://`` URL and keyword options to the store's settings and pymongo's.

The query string and the keyword options hold two kinds of names: the store's own (see
:data:`STORE_OPTIONS`) and pymongo's client options, which pass through to
``AsyncMongoClient``. A name that is neither is an error, not a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from pymongo import common

from sessionup.core.errors import StoreURLError
from sessionup.core.plugins import split_url_options, url_scheme
from sessionup.core.store import coerce_options

SCHEMES: Final = ("mongodb", "mongodb+srv")
DEFAULT_URL: Final = "mongodb://127.0.0.1:27017/sessionup"
DEFAULT_DATABASE: Final = "sessionup"
DEFAULT_COLLECTION: Final = "sessions"
#: The collection, in the same database, that records each session collection's layout.
META_COLLECTION: Final = "sessionup_meta"

#: The store's own options, by name and type.
STORE_OPTIONS: Final[Mapping[str, type]] = {"collection": str, "ensure_indexes": bool}

#: pymongo's defaults wait 30 s for a server and forever for a reply; a web request cannot.
#: Each applies only when neither the URL nor the keyword options set it.
DEFAULT_TIMEOUTS: Final[Mapping[str, int]] = {
    "timeoutMS": 3000,
    "serverSelectionTimeoutMS": 2000,
    "connectTimeoutMS": 2000,
}

# Client options the store sets itself: the codec its documents are read with, and lazy
# connection (a constructor does no I/O).
_RESERVED: Final = frozenset(
    {
        "connect",
        "document_class",
        "tz_aware",
        "tzinfo",
        "type_registry",
        "datetime_conversion",
        "unicode_decode_error_handler",
        "uuidrepresentation",
    }
)

# Characters MongoDB forbids in a database name.
_BAD_DATABASE_CHARS: Final = frozenset('/\\. "$*<>:|?\x00')


@dataclass(frozen=True, slots=True)
class MongoSettings:
    """Everything the store needs, checked.

    :param url: the URL pymongo is given, without its query string (its options moved to
        ``client_options``); it may hold credentials, so it is never shown.
    """

    url: str
    database: str
    collection: str
    ensure_indexes: bool
    client_options: dict[str, Any] = field(default_factory=dict)


def parse_settings(
    url: str, store_options: Mapping[str, object], client_options: Mapping[str, object]
) -> MongoSettings:
    """Check ``url`` and both kinds of options, and merge the defaults in.

    :param store_options: the store's own options given as arguments.
    :param client_options: pymongo client options given as arguments (any name pymongo's
        ``AsyncMongoClient`` accepts as a keyword).
    :raises StoreURLError: naming what is wrong: the scheme, the database or collection
        name, an unknown option, a value of the wrong type, or an option given twice.
    """
    scheme = url_scheme(url)
    if scheme not in SCHEMES:
        raise StoreURLError(
            f"a MongoDB store URL starts mongodb:// or mongodb+srv://, not {scheme}://"
        )
    base, query = split_url_options(url)

    ours: dict[str, object] = {}
    driver: dict[str, object] = {}
    for name, value in query.items():
        (ours if name in STORE_OPTIONS else driver)[name] = value
    _check_driver_names(scheme, driver, common.URI_OPTIONS_VALIDATOR_MAP, "in the URL")
    _check_driver_names(scheme, client_options, common.VALIDATORS, "as a keyword")
    for name, given in store_options.items():
        if name in ours:
            raise StoreURLError(f"option {name!r} is given both in the URL and as an argument")
        ours[name] = given
    seen = {name.lower(): name for name in driver}
    for name, given in client_options.items():
        if name.lower() in seen:
            raise StoreURLError(f"option {name!r} is given both in the URL and as an argument")
        seen[name.lower()] = name
        driver[name] = given

    checked = coerce_options(scheme, ours, STORE_OPTIONS)
    collection = checked.get("collection", DEFAULT_COLLECTION)
    database = _database_name(base)
    _check_collection_name(database, collection)
    for name, default in DEFAULT_TIMEOUTS.items():
        if name.lower() not in seen:
            driver[name] = default
    return MongoSettings(
        url=base,
        database=database,
        collection=collection,
        ensure_indexes=checked.get("ensure_indexes", True),
        client_options=driver,
    )


def _check_driver_names(
    scheme: str, options: Mapping[str, object], known: Mapping[str, object], where: str
) -> None:
    for name in options:
        lowered = name.lower()
        if lowered in _RESERVED:
            raise StoreURLError(
                f"option {name!r} is set by the {scheme}:// store itself and cannot be given"
            )
        if lowered not in known:
            ours = ", ".join(sorted(STORE_OPTIONS))
            raise StoreURLError(
                f"unknown option {name!r} {where} for {scheme}:// stores: neither the store's "
                f"own ({ours}) nor a pymongo client option"
            )


def _database_name(base: str) -> str:
    try:
        path = urlsplit(base).path
    except ValueError as exc:
        raise StoreURLError(f"malformed MongoDB store URL: {exc}") from None
    name = unquote(path.lstrip("/")) or DEFAULT_DATABASE
    bad = sorted(_BAD_DATABASE_CHARS.intersection(name))
    if bad:
        raise StoreURLError(f"MongoDB database name {name!r} holds forbidden characters {bad}")
    if len(name.encode()) >= 64:
        raise StoreURLError(f"MongoDB database name {name!r} is 64 bytes or longer")
    return name


def _check_collection_name(database: str, name: str) -> None:
    if not name:
        raise StoreURLError("option 'collection' must not be empty")
    if "$" in name or "\x00" in name:
        raise StoreURLError(f"collection name {name!r} must not hold '$' or NUL")
    if name.startswith("system.") or name == META_COLLECTION:
        raise StoreURLError(f"collection name {name!r} is reserved")
    if len(f"{database}.{name}".encode()) > 255:
        raise StoreURLError(f"collection name {name!r} makes the namespace exceed 255 bytes")
