"""Reading the session cookie from request headers and writing ``Set-Cookie`` values.

One rule for duplicates: the Cookie headers of a request are read as one list of pairs, and
if our cookie's name appears with two different values, the request has no session. Taking
"the first" or "the next that works" would let a cookie planted for a parent domain or a
longer path decide which session is used.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from typing import Final, Literal

from .errors import ConfigError

SameSite = Literal["strict", "lax", "none"]

# RFC 6265 section 4.1.1: a cookie name is an RFC 7230 token.
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_DOMAIN = re.compile(
    r"\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
# Printable ASCII but ";" "," and space: anything else could end or split the attribute.
_PATH = re.compile(r"/[!-+\--:<-~]*")

_OWS: Final = b" \t"
_QUOTE: Final = 0x22
_PAST: Final = "Thu, 01 Jan 1970 00:00:00 GMT"

Outcome = Literal["ok", "absent", "ambiguous"]


def check_cookie_options(
    name: str, *, domain: str | None, path: str, secure: bool, same_site: str
) -> None:
    """Validate cookie settings when a manager is built, not when a browser meets them.

    :raises ConfigError: naming the bad setting: a name that is not an RFC 6265 token, a
        domain or path with separators, spaces, control or non-ASCII characters,
        ``SameSite=None`` without ``Secure``, or a ``__Host-``/``__Secure-`` name whose
        prefix rules are broken.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"cookie_name {name!r} is not a valid cookie name (RFC 6265 token)")
    if domain is not None and (not isinstance(domain, str) or not _DOMAIN.fullmatch(domain)):
        raise ConfigError(f"domain {domain!r} is not a valid cookie domain")
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ConfigError(
            f"path {path!r} must start with '/' and hold no ';', ',', space or control"
        )
    if same_site not in ("strict", "lax", "none"):
        raise ConfigError(f"same_site must be 'strict', 'lax' or 'none', got {same_site!r}")
    if same_site == "none" and not secure:
        raise ConfigError("same_site='none' requires secure=True (browsers refuse it otherwise)")
    lowered = name.lower()
    if lowered.startswith("__secure-") and not secure:
        raise ConfigError(f"cookie_name {name!r} has the __Secure- prefix, which needs secure=True")
    if lowered.startswith("__host-") and (not secure or domain is not None or path != "/"):
        raise ConfigError(
            f"cookie_name {name!r} has the __Host- prefix, which needs secure=True, "
            "domain=None and path='/'"
        )


@lru_cache(maxsize=64)
def cookie_pattern(name: bytes) -> re.Pattern[bytes]:
    """The pattern finding ``name=value`` pairs of one cookie name in a Cookie header."""
    return re.compile(rb"(?:^|;)[ \t]*" + re.escape(name) + rb"[ \t]*=([^;]*)")


def read_cookie(
    headers: Iterable[tuple[bytes, bytes]], name: bytes, pattern: re.Pattern[bytes] | None = None
) -> tuple[Outcome, bytes]:
    """Find cookie ``name`` in ASGI request headers (lower-case names, raw bytes).

    Returns ``("ok", value)``, ``("absent", b"")`` or ``("ambiguous", b"")`` when the name
    appears with different values, in one header or across several. Names are compared
    exactly, with only ASCII space and tab trimmed around them, so a name behind Unicode
    spaces or a nameless ``=name=value`` pair never matches. One pair of surrounding double
    quotes is removed and nothing is unescaped, so a value full of backslashes costs linear
    time and then fails the token check. Time is linear in the size of the headers.
    ``pattern`` is :func:`cookie_pattern` of ``name``, for callers that keep it.
    """
    found: bytes | None = None
    finder = (pattern or cookie_pattern(name)).findall
    for key, header in headers:
        if key != b"cookie":
            continue
        for value in finder(header):
            value = value.strip(_OWS)
            if len(value) >= 2 and value[0] == _QUOTE and value[-1] == _QUOTE:
                value = value[1:-1]
            if found is None:
                found = value
            elif found != value:
                return "ambiguous", b""
    if found is None:
        return "absent", b""
    return "ok", found


def set_cookie_value(
    name: str,
    value: str,
    *,
    domain: str | None,
    path: str,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
    max_age: timedelta | None,
    now: datetime | None = None,
) -> str:
    """A ``Set-Cookie`` header value; every attribute is set explicitly.

    ``max_age`` None makes a browser-session cookie (no ``Max-Age``/``Expires``). The value
    must already be a token; names and options were checked by :func:`check_cookie_options`.
    """
    parts = [f"{name}={value}", f"Path={path}"]
    if domain is not None:
        parts.append(f"Domain={domain}")
    if max_age is not None:
        # Rounded up: a cookie must not die before the session it carries.
        seconds = max(0, math.ceil(max_age.total_seconds()))
        parts.append(f"Max-Age={seconds}")
        if now is not None:
            # HTTP dates have whole seconds: round up, for the reason above.
            expires = now + timedelta(seconds=seconds)
            if expires.microsecond:
                expires += timedelta(microseconds=1_000_000 - expires.microsecond)
            parts.append(f"Expires={format_datetime(expires, usegmt=True)}")
    return _with_flags(parts, secure, http_only, same_site)


def clear_cookie_value(
    name: str,
    *,
    domain: str | None,
    path: str,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
) -> str:
    """A ``Set-Cookie`` value that deletes the cookie: empty, expired, same Path and Domain."""
    parts = [f"{name}=", f"Path={path}"]
    if domain is not None:
        parts.append(f"Domain={domain}")
    parts += ["Max-Age=0", f"Expires={_PAST}"]
    return _with_flags(parts, secure, http_only, same_site)


def _with_flags(parts: list[str], secure: bool, http_only: bool, same_site: SameSite) -> str:
    if secure:
        parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    parts.append(f"SameSite={same_site.capitalize()}")
    return "; ".join(parts)
