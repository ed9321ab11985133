"""The session record: what a store keeps and what a request is given."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

from .errors import InvalidMetaError, InvalidUserKeyError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Longest user key accepted, in characters.
MAX_USER_KEY_LENGTH: Final = 1024
#: Most metadata entries a session may carry.
MAX_META_KEYS: Final = 32
#: Largest metadata a session may carry: UTF-8 bytes of all keys and values together.
MAX_META_BYTES: Final = 4096

#: Version of :func:`session_to_record`'s layout; stores that keep records as JSON embed it.
RECORD_VERSION: Final = 1

# Control characters, and the separators that would matter if a value ever met a header.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f;=]")

_EMPTY_META: Final[Mapping[str, str]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Agent:
    """The client software a session was created from, as parsed from its User-Agent.

    Either name is None when the User-Agent was missing or not recognised.
    """

    os: str | None = None
    browser: str | None = None


@dataclass(frozen=True, slots=True)
class Session:
    """One server-side session. Immutable; stores build new ones rather than change them.

    :param id: the store's handle. With ``hash_ids`` on it is a digest of the cookie's
        token, so listing sessions never reveals another device's bearer token.
    :param user_key: who owns the session.
    :param created_at: when it was created (timezone-aware, UTC).
    :param expires_at: when it stops existing (timezone-aware, UTC).
    :param ip: the client address it was created from, or None.
    :param agent: the client's OS and browser names.
    :param meta: read-only string metadata given at creation.
    :param current: True only on the session of the request at hand; never stored.
    """

    id: str
    user_key: str
    created_at: datetime
    expires_at: datetime
    ip: IPAddress | None = None
    agent: Agent = field(default_factory=Agent)
    meta: Mapping[str, str] = field(default_factory=lambda: _EMPTY_META, hash=False)
    current: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("created_at", "expires_at"):
            value: datetime = getattr(self, name)
            zone = value.tzinfo
            if zone is UTC:
                continue
            if zone is None or value.utcoffset() is None:
                raise ValueError(f"Session.{name} must be timezone-aware, got {value!r}")
            # Drivers hand back their own UTC zone objects: normalise to the one UTC. (On
            # CPython 3.11 astimezone is several times cheaper than replace(tzinfo=...).)
            object.__setattr__(self, name, value.astimezone(UTC))
        if type(self.meta) is not MappingProxyType:
            object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    def is_expired(self, now: datetime | None = None) -> bool:
        """Whether the session has expired at ``now`` (default: the current time)."""
        return self.expires_at <= (now or datetime.now(UTC))

    def with_current(self, current: bool = True) -> Session:
        """A copy with ``current`` set (or this session, if it already matches)."""
        if self.current is current:
            return self
        return _unchecked(
            self.id,
            self.user_key,
            self.created_at,
            self.expires_at,
            self.ip,
            self.agent,
            self.meta,
            current,
        )


_new = object.__new__
_set = object.__setattr__


def _unchecked(
    id: str,
    user_key: str,
    created_at: datetime,
    expires_at: datetime,
    ip: IPAddress | None,
    agent: Agent,
    meta: Mapping[str, str],
    current: bool = False,
) -> Session:
    # A Session from fields already known good (UTC datetimes, read-only meta), without
    # checking them again: copies on every request and records decoded by the thousand.
    session: Session = _new(Session)
    _set(session, "id", id)
    _set(session, "user_key", user_key)
    _set(session, "created_at", created_at)
    _set(session, "expires_at", expires_at)
    _set(session, "ip", ip)
    _set(session, "agent", agent)
    _set(session, "meta", meta)
    _set(session, "current", current)
    return session


@lru_cache(maxsize=1024)
def _agent(os_name: str | None, browser: str | None) -> Agent:
    return Agent(os=os_name, browser=browser)


def check_user_key(user_key: object) -> str:
    """Return ``user_key`` if it is acceptable, else raise :class:`InvalidUserKeyError`.

    A user key is a non-empty string of at most :data:`MAX_USER_KEY_LENGTH` characters with
    no control characters, ``;`` or ``=``.
    """
    if not isinstance(user_key, str):
        raise InvalidUserKeyError(f"user key must be a str, got {type(user_key).__name__}")
    if not user_key:
        raise InvalidUserKeyError("user key must not be empty")
    if len(user_key) > MAX_USER_KEY_LENGTH:
        raise InvalidUserKeyError(
            f"user key is {len(user_key)} characters long; the limit is {MAX_USER_KEY_LENGTH}"
        )
    bad = _FORBIDDEN.search(user_key)
    if bad:
        raise InvalidUserKeyError(
            f"user key holds a forbidden character {bad.group()!r} at position {bad.start()}"
        )
    return user_key


def check_meta(meta: Mapping[str, str] | None) -> Mapping[str, str]:
    """Return ``meta`` as a read-only mapping if it is acceptable.

    :raises InvalidMetaError: if it is not a mapping of str to str, has more than
        :data:`MAX_META_KEYS` entries, exceeds :data:`MAX_META_BYTES`, has an empty key, or
        a key or value holds a control character, ``;`` or ``=``.
    """
    if meta is None:
        return _EMPTY_META
    if not isinstance(meta, Mapping):
        raise InvalidMetaError(f"meta must be a mapping, got {type(meta).__name__}")
    if len(meta) > MAX_META_KEYS:
        raise InvalidMetaError(f"meta has {len(meta)} keys; the limit is {MAX_META_KEYS}")
    size = 0
    for key, value in meta.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidMetaError(
                f"meta keys and values must be str, got {type(key).__name__}: "
                f"{type(value).__name__}"
            )
        if not key:
            raise InvalidMetaError("meta keys must not be empty")
        for part, text in (("key", key), ("value", value)):
            bad = _FORBIDDEN.search(text)
            if bad:
                raise InvalidMetaError(
                    f"meta {part} for {key[:40]!r} holds a forbidden character {bad.group()!r}"
                )
        size += len(key.encode()) + len(value.encode())
        if size > MAX_META_BYTES:
            raise InvalidMetaError(f"meta exceeds {MAX_META_BYTES} bytes of UTF-8")
    return MappingProxyType(dict(meta))


def datetime_to_micros(value: datetime) -> int:
    """Microseconds since the Unix epoch, exact: the portable way to store a timestamp."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def micros_to_datetime(value: int) -> datetime:
    """The UTC datetime ``value`` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=value)


@lru_cache(maxsize=4096)
def parse_ip(text: str) -> IPAddress:
    """``ipaddress.ip_address`` with a cache: a user's sessions come from few addresses, and
    parsing one costs more than the rest of decoding a record.

    :raises ValueError: if ``text`` is not an IPv4 or IPv6 address.
    """
    return ipaddress.ip_address(text)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def session_to_record(session: Session) -> dict[str, Any]:
    """A JSON-ready dict of every stored field (``current`` is never stored).

    Timestamps are integer microseconds since the epoch, so they round-trip exactly.
    """
    return {
        "v": RECORD_VERSION,
        "id": session.id,
        "user_key": session.user_key,
        "created_at": datetime_to_micros(session.created_at),
        "expires_at": datetime_to_micros(session.expires_at),
        "ip": None if session.ip is None else str(session.ip),
        "os": session.agent.os,
        "browser": session.agent.browser,
        "meta": dict(session.meta),
    }


def session_from_record(record: Mapping[str, Any]) -> Session:
    """Rebuild a session from :func:`session_to_record`'s output.

    :raises ValueError: if the record is of an unknown version or any field is missing or
        of the wrong type; a caller treats such a record as no session.
    """
    try:
        version = record["v"]
        sid, user_key = record["id"], record["user_key"]
        created, expires = record["created_at"], record["expires_at"]
        ip, os_name, browser, meta = record["ip"], record["os"], record["browser"], record["meta"]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"session record lacks field {exc}") from None
    if version != RECORD_VERSION:
        raise ValueError(f"unknown session record version {version!r}")
    if type(sid) is not str or type(user_key) is not str:
        raise ValueError("session record id and user_key must be strings")
    if type(created) is not int or type(expires) is not int:
        raise ValueError("session record timestamps must be integers")
    for value in (ip, os_name, browser):
        if value is not None and type(value) is not str:
            raise ValueError("session record ip, os and browser must be strings or null")
    if type(meta) is not dict:
        raise ValueError("session record meta must map strings to strings")
    for key, value in meta.items():
        if type(key) is not str or type(value) is not str:
            raise ValueError("session record meta must map strings to strings")
    return _unchecked(
        sid,
        user_key,
        micros_to_datetime(created),
        micros_to_datetime(expires),
        None if ip is None else parse_ip(ip),
        _agent(os_name, browser),
        MappingProxyType(meta) if meta else _EMPTY_META,
    )
