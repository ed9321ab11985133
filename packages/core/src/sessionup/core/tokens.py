"""Session tokens: how they are made, checked, and turned into store ids."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from functools import lru_cache
from typing import Final

from .errors import ConfigError

#: Bytes of randomness in a default token (256 bits; ASVS asks for at least 128).
TOKEN_BYTES: Final = 32
#: Shortest token accepted from a custom generator: 22 base64url characters hold 128 bits.
MIN_TOKEN_LENGTH: Final = 22
#: Length of a default token.
DEFAULT_TOKEN_LENGTH: Final = 43
#: Longest token accepted, from a generator or a cookie.
MAX_TOKEN_LENGTH: Final = 256

_ALPHABET: Final = re.compile(r"[A-Za-z0-9_-]+")


def generate_token() -> str:
    """A new random token: 256 bits from :mod:`secrets` in base64url (43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_to_id(token: str) -> str:
    """The store id of a token when ``hash_ids`` is on: its SHA-256, in hex.

    A plain hash is enough: the token already carries 256 bits of entropy, so there is
    nothing to brute-force, and the digest leaks nothing usable as a cookie.
    """
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def id_ref(session_id: str) -> str:
    """A short, non-reversible reference to a session id, safe to log."""
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def is_well_formed(
    token: str, min_length: int = MIN_TOKEN_LENGTH, max_length: int = MAX_TOKEN_LENGTH
) -> bool:
    """Whether ``token`` has a token's alphabet and length; checked before any store call."""
    return min_length <= len(token) <= max_length and _ALPHABET.fullmatch(token) is not None


@lru_cache(maxsize=8)
def token_pattern(
    min_length: int = MIN_TOKEN_LENGTH, max_length: int = MAX_TOKEN_LENGTH
) -> re.Pattern[bytes]:
    """A pattern matching, as bytes, tokens of the token alphabet within these lengths."""
    return re.compile(rb"[A-Za-z0-9_-]{%d,%d}" % (min_length, max_length))


def checked_generator(gen_id: Callable[[], str]) -> Callable[[], str]:
    """Wrap a custom token generator so that every token it makes is checked.

    :raises ConfigError: (when a token is made) if it is not a string of 22 to 256
        characters of ``A-Z a-z 0-9 - _``.
    """

    def generate() -> str:
        token = gen_id()
        if not isinstance(token, str) or not is_well_formed(token):
            raise ConfigError(
                "gen_id must return 22 to 256 characters of A-Z, a-z, 0-9, '-' and '_' "
                f"(at least 128 bits of randomness); got {type(token).__name__} "
                f"of length {len(token) if isinstance(token, str) else '?'}"
            )
        return token

    return generate
