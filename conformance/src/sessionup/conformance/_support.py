"""What every contract test leans on: unique names, session builders, precise assertions."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol

import pytest

from sessionup.core.session import Agent, IPAddress, Session
from sessionup.core.store import Store, StoreTraits

if TYPE_CHECKING:
    from collections.abc import Collection

HOUR: Final = timedelta(hours=1)
DEFAULT_IP: Final = ipaddress.ip_address("192.0.2.10")
DEFAULT_AGENT: Final = Agent(os="Linux", browser="Firefox")

#: A zero-argument callable building a new, unopened store over the test's backend data.
StoreFactory = Callable[[], Store]


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Names:
    """Unique user keys and ids for one test, remembered so the test's data can be removed.

    Every name carries a random token, so runs against a shared backend never collide and
    a test only ever sees the sessions it made.
    """

    def __init__(self) -> None:
        self.token = secrets.token_hex(6)
        self.user_keys: list[str] = []

    def user(self, label: str = "user") -> str:
        """A user key unique to this test, such as ``alice-3f9c0a1b2c3d``."""
        return self.raw_user(f"{label}-{self.token}")

    def raw_user(self, user_key: str) -> str:
        """Register ``user_key`` as it is (the caller made it unique) and return it."""
        self.user_keys.append(user_key)
        return user_key

    def id(self, label: str = "s") -> str:
        """A session id unique to this test."""
        return f"{self.token}-{label}-{secrets.token_hex(8)}"


class _Timed(Protocol):
    test_timeout: float


def contract_test(
    func: Callable[..., Awaitable[None]],
) -> Callable[..., Awaitable[None]]:
    """Mark a coroutine test for pytest-asyncio and bound its duration.

    The mark is explicit so the suite runs in projects using pytest-asyncio's strict mode;
    in auto mode an explicitly marked test runs once, as well. A store that hangs fails the
    test after the class's ``test_timeout`` seconds instead of hanging the whole run.
    """

    @functools.wraps(func)
    async def bounded(self: _Timed, *args: Any, **kwargs: Any) -> None:
        limit = self.test_timeout
        try:
            async with asyncio.timeout(limit) as deadline:
                await func(self, *args, **kwargs)
        except TimeoutError:
            if deadline.expired():
                pytest.fail(f"the test did not finish within {limit:g} s: a store call hung")
            raise

    marked: Callable[..., Awaitable[None]] = pytest.mark.asyncio(loop_scope="function")(bounded)
    return marked


def make_session(
    id: str,
    user_key: str,
    *,
    expires_in: timedelta = HOUR,
    created_at: datetime | None = None,
    expires_at: datetime | None = None,
    ip: IPAddress | None = DEFAULT_IP,
    agent: Agent = DEFAULT_AGENT,
    meta: Mapping[str, str] | None = None,
    current: bool = False,
) -> Session:
    """A session for the tests: live for an hour by default, with every field filled."""
    now = utcnow()
    return Session(
        id=id,
        user_key=user_key,
        created_at=created_at or now - timedelta(minutes=1),
        expires_at=expires_at or now + expires_in,
        ip=ip,
        agent=agent,
        meta={"device": "laptop"} if meta is None else meta,
        current=current,
    )


def make_expired(id: str, user_key: str) -> Session:
    """A session that expired an hour ago: it does not exist, whatever a store holds."""
    now = utcnow()
    return make_session(id, user_key, created_at=now - 2 * HOUR, expires_at=now - HOUR)


async def create_all(store: Store, sessions: Iterable[Session]) -> list[Session]:
    """Create every session, one after the other, and return them."""
    made = list(sessions)
    for session in made:
        await store.create(session)
    return made


def same_instant(got: datetime, want: datetime, traits: StoreTraits) -> bool:
    """Whether two datetimes agree at the store's declared precision."""
    precision = traits.expiry_precision
    if precision <= timedelta(microseconds=1):
        return got == want
    return abs(got - want) < precision


def check_datetime(got: object, want: datetime, traits: StoreTraits, what: str) -> None:
    """Assert ``got`` is an aware UTC datetime equal to ``want`` at the declared precision."""
    assert isinstance(got, datetime), f"{what} must be a datetime, got {type(got).__name__}"
    assert got.utcoffset() == timedelta(0), (
        f"{what} must be timezone-aware UTC, got tzinfo {got.tzinfo!r}"
    )
    precision = traits.expiry_precision
    assert same_instant(got, want, traits), (
        f"{what} changed in the store: wrote {want.isoformat()}, read {got.isoformat()} "
        f"(the store declares expiry_precision={precision})"
    )


def check_session(got: object, want: Session, traits: StoreTraits, via: str) -> None:
    """Assert ``got`` (read back through ``via``) holds exactly what ``want`` was created with."""
    assert got is not None, f"{via} returned None for a live session that was created"
    assert isinstance(got, Session), f"{via} must return a Session, got {type(got).__name__}"
    assert got.id == want.id, f"{via}: id changed: wrote {want.id!r}, read {got.id!r}"
    assert got.user_key == want.user_key, (
        f"{via}: user_key changed: wrote {want.user_key!r}, read {got.user_key!r}"
    )
    check_datetime(got.created_at, want.created_at, traits, f"{via}: created_at")
    check_datetime(got.expires_at, want.expires_at, traits, f"{via}: expires_at")
    assert (got.ip, type(got.ip)) == (want.ip, type(want.ip)), (
        f"{via}: ip changed: wrote {want.ip!r}, read {got.ip!r}"
    )
    assert got.agent == want.agent, f"{via}: agent changed: wrote {want.agent}, read {got.agent}"
    assert dict(got.meta) == dict(want.meta), (
        f"{via}: meta changed: wrote {dict(want.meta)!r}, read {dict(got.meta)!r}"
    )
    assert got.current is False, f"{via}: current must never be stored, read current=True"


def check_bool(got: object, want: bool, call: str) -> None:
    """Assert a store call returned exactly ``True`` or ``False``, not a truthy stand-in."""
    assert type(got) is bool, f"{call} must return a bool, got {type(got).__name__} {got!r}"
    assert got is want, f"{call} must return {want}, got {got}"


def check_count(got: object, want: int, call: str) -> None:
    """Assert a store call returned exactly the integer ``want``."""
    assert type(got) is int, f"{call} must return an int, got {type(got).__name__} {got!r}"
    assert got == want, f"{call} must return {want}, got {got}"


def check_count_at_most(got: object, limit: int, call: str) -> int:
    """Assert a store call returned an integer between 0 and ``limit``; return it."""
    assert type(got) is int, f"{call} must return an int, got {type(got).__name__} {got!r}"
    assert 0 <= got <= limit, f"{call} must return between 0 and {limit}, got {got}"
    return got


async def ids_of_user(store: Store, user_key: str) -> set[str]:
    """The ids ``fetch_by_user_key`` lists, checked to be a list of distinct sessions."""
    listed = await store.fetch_by_user_key(user_key)
    call = f"fetch_by_user_key({user_key[:60]!r})"
    assert isinstance(listed, list), f"{call} must return a list, got {type(listed).__name__}"
    assert all(isinstance(s, Session) for s in listed), f"{call} must list Session objects"
    ids = [s.id for s in listed]
    assert len(ids) == len(set(ids)), f"{call} listed a session more than once"
    strangers = [s.user_key for s in listed if s.user_key != user_key]
    assert not strangers, f"{call} listed sessions of other users: {strangers[:3]!r}"
    return set(ids)


async def check_absent(store: Store, session_id: str, why: str) -> None:
    """Assert ``fetch_by_id`` finds nothing for ``session_id``."""
    found = await store.fetch_by_id(session_id)
    assert found is None, f"fetch_by_id returned a session that {why}: {found!r}"


async def expect_error(call: Awaitable[object], error: type[BaseException], what: str) -> None:
    """Assert awaiting ``call`` raises ``error``, naming what came instead."""
    try:
        result = await call
    except error:
        return
    except Exception as exc:
        raise AssertionError(
            f"{what} must raise {error.__name__}, got {type(exc).__name__}: {exc}"
        ) from exc
    raise AssertionError(f"{what} must raise {error.__name__}, but returned {result!r}")


def describe(ids: Collection[str]) -> str:
    """A short, sorted rendering of some ids for a failure message."""
    shown = sorted(ids)[:5]
    more = f" and {len(ids) - len(shown)} more" if len(ids) > len(shown) else ""
    return f"{shown!r}{more}"
