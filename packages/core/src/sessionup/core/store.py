"""The store contract every backend implements, and helpers for writing one."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from .errors import StoreURLError
from .session import Session


@dataclass(frozen=True, slots=True)
class StoreTraits:
    """Facts about a store that the conformance suite adapts to instead of skipping.

    :param persistent: data survives ``close`` and a new instance on the same URL.
    :param expiry_precision: the finest time step the store keeps (microseconds by
        default); round-trips are compared at this precision.
    :param native_ttl: the backend removes expired sessions itself, so
        ``delete_expired`` may return 0 having found nothing to do.
    """

    persistent: bool = False
    expiry_precision: timedelta = timedelta(microseconds=1)
    native_ttl: bool = False


@runtime_checkable
class Store(Protocol):
    """Where sessions live. Every method is a coroutine; every failure is a ``StoreError``.

    Implementations do no I/O in their constructor: they connect on :meth:`open` or on first
    use, and they are async context managers. An expired session does not exist, whatever
    the backend still holds: no method returns or extends one.
    """

    traits: StoreTraits

    async def open(self) -> None:
        """Connect (and create the schema) now rather than on first use. Idempotent."""

    async def close(self) -> None:
        """Release connections. Idempotent; later calls raise ``StoreClosedError``."""

    async def create(self, session: Session) -> None:
        """Insert ``session``; raise ``DuplicateIDError`` if its id exists, leaving it intact."""

    async def fetch_by_id(self, id: str) -> Session | None:
        """The live session with this id, or None."""

    async def fetch_by_user_key(self, user_key: str) -> list[Session]:
        """The user's live sessions, in no particular order; an empty list if none."""

    async def delete_by_id(self, id: str) -> bool:
        """Delete the session; True if one was deleted, False (no error) if absent."""

    async def delete_by_user_key(self, user_key: str, *, except_ids: Collection[str] = ()) -> int:
        """Delete the user's sessions but those in ``except_ids``; return how many went.

        Ids in ``except_ids`` that belong to other users are ignored (and left untouched).
        """

    async def touch(self, id: str, expires_at: datetime) -> bool:
        """Move a live session's expiry to ``expires_at`` if that is later.

        Returns True if the session is live (whether or not its expiry moved), and False,
        writing nothing, if it is absent or expired.
        """

    async def delete_expired(self, *, limit: int | None = None) -> int:
        """Physically remove expired sessions, at most ``limit`` of them if given.

        Returns how many were removed (0 where the backend's TTLs already did it). Callers
        purging a large store call it with a limit until it returns less than the limit.
        """

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class StoreBase:
    """Optional base class giving a store the context-manager half of the contract."""

    traits: StoreTraits = StoreTraits()

    async def open(self) -> None:
        """Connect now; the default does nothing."""

    async def close(self) -> None:
        """Release connections; the default does nothing."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _to_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _to_seconds(value: str) -> timedelta:
    return timedelta(seconds=float(value))


#: Converters for :func:`coerce_options`, by the option's declared type.
CONVERTERS: Mapping[type, Callable[[str], Any]] = {
    bool: _to_bool,
    int: int,
    float: float,
    str: str,
    timedelta: _to_seconds,
}


def coerce_options(
    scheme: str, options: Mapping[str, object], spec: Mapping[str, type]
) -> dict[str, Any]:
    """Check ``options`` against ``spec`` (name to type) and convert string values.

    Query-string values arrive as strings and are converted with :data:`CONVERTERS`
    (``timedelta`` values are seconds); values passed as Python objects must already be of
    the declared type.

    :raises StoreURLError: naming the option, for an unknown name or a bad value.
    """
    result: dict[str, Any] = {}
    for name, value in options.items():
        expected = spec.get(name)
        if expected is None:
            known = ", ".join(sorted(spec)) or "none"
            raise StoreURLError(f"unknown option {name!r} for {scheme}:// stores (known: {known})")
        if isinstance(value, str) and expected is not str:
            try:
                value = CONVERTERS[expected](value)
            except (ValueError, KeyError) as exc:
                raise StoreURLError(
                    f"option {name!r} for {scheme}:// stores must be {expected.__name__}: {exc}"
                ) from None
        elif expected is float and type(value) is int:
            value = float(value)
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise StoreURLError(
                f"option {name!r} for {scheme}:// stores must be {expected.__name__}, "
                f"got {type(value).__name__}"
            )
        result[name] = value
    return result
