"""The exceptions sessionup raises, in one hierarchy rooted at :class:`SessionupError`."""

from __future__ import annotations

from collections.abc import Iterable


class SessionupError(Exception):
    """Base class of every error sessionup raises on purpose."""


class ConfigError(SessionupError, ValueError):
    """A manager, cookie or store option is invalid; raised at construction time."""


class InvalidUserKeyError(SessionupError, ValueError):
    """A user key is empty, too long, not a string, or holds a forbidden character."""


class InvalidMetaError(SessionupError, ValueError):
    """Session metadata is too large, has too many keys, or holds non-string data."""


class MiddlewareMissingError(SessionupError, RuntimeError):
    """A per-request call ran on a request that no ``manager.public``/``manager.auth`` wrapped."""


class Unauthorized(SessionupError):
    """The request carries no live session (or one that failed validation).

    :ivar reason: a short machine-readable word: ``"no_session"`` or ``"mismatch"``.
    """

    def __init__(self, reason: str = "no_session", message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message or f"unauthorized: {reason}")


class NotOwnerError(SessionupError, PermissionError):
    """``revoke_by_id_ext`` was asked to end a session that belongs to another user."""


class StoreError(SessionupError):
    """A store's backend failed. The driver's exception, if any, is the ``__cause__``."""


class StoreClosedError(StoreError):
    """The store was used after :meth:`close`."""


class DuplicateIDError(StoreError):
    """``create`` was given a session whose id the store already holds."""

    def __init__(self, session_id_ref: str) -> None:
        self.session_id_ref = session_id_ref
        super().__init__(f"a session with this id already exists (id digest {session_id_ref})")


class StoreNotFoundError(SessionupError, LookupError):
    """No installed plugin provides the scheme of a store URL."""

    def __init__(self, scheme: str, installed: Iterable[str], hint: str | None = None) -> None:
        self.scheme = scheme
        self.installed = tuple(sorted(installed))
        listed = ", ".join(self.installed) or "none"
        message = f"no store is installed for scheme {scheme!r} (installed schemes: {listed})"
        if hint:
            message += f"; install it with: {hint}"
        super().__init__(message)


class StoreConflictError(SessionupError):
    """Two installed plugins claim the same URL scheme."""

    def __init__(self, scheme: str, first: str, second: str) -> None:
        self.scheme = scheme
        self.claimants = (first, second)
        super().__init__(
            f"store scheme {scheme!r} is claimed by both {first} and {second}; "
            "uninstall one of them"
        )


class StoreURLError(SessionupError, ValueError):
    """A store URL or one of its options is malformed, unknown or of the wrong type."""
