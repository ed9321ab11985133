"""Who is on the other end: the client's address and its OS and browser names."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Final

from .errors import ConfigError
from .session import Agent, IPAddress

#: Most ``X-Forwarded-For`` hops walked; a longer chain falls back to the peer address.
MAX_FORWARDED_HOPS: Final = 16
#: Longest ``X-Forwarded-For`` (all headers together) read at all.
MAX_FORWARDED_BYTES: Final = 2048
#: Longest User-Agent parsed; longer ones are cut, which keeps parsing time bounded.
MAX_USER_AGENT: Final = 512

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Turn ``"10.0.0.0/8"`` or ``"192.0.2.7"`` strings into networks.

    :raises ConfigError: naming the first value that is not an address or network.
    """
    if isinstance(values, str):
        raise ConfigError("trusted_proxies must be a sequence of strings, not one string")
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except (TypeError, ValueError):
            raise ConfigError(
                f"trusted_proxies: {value!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(ip: IPAddress, networks: tuple[Network, ...]) -> bool:
    return any(ip in net for net in networks)


def client_ip(scope: Mapping[str, Any], trusted: tuple[Network, ...]) -> IPAddress | None:
    """The client's address: the ASGI peer, unless the peer is a trusted proxy.

    Behind a trusted proxy, ``X-Forwarded-For`` is walked from the right past trusted hops;
    the first untrusted hop is the client. Anything unparsable (``unknown``, a port, a
    bracketed address), a chain longer than :data:`MAX_FORWARDED_HOPS` or a header over
    :data:`MAX_FORWARDED_BYTES` falls back to the peer. Returns None when the peer is not an
    IP address (a Unix socket, a test client).
    """
    client = scope.get("client")
    peer = _parse_ip(client[0]) if client else None
    if peer is None or not trusted or not _trusted(peer, trusted):
        return peer
    values = [v for k, v in scope.get("headers", ()) if k == b"x-forwarded-for"]
    if not values or sum(len(v) for v in values) > MAX_FORWARDED_BYTES:
        return peer
    hops = b",".join(values).decode("latin-1").split(",")
    if len(hops) > MAX_FORWARDED_HOPS:
        return peer
    for hop in reversed(hops):
        ip = _parse_ip(hop.strip(" \t"))
        if ip is None:
            return peer
        if not _trusted(ip, trusted):
            return ip
    return peer


def user_agent(scope: Mapping[str, Any]) -> str:
    """The request's User-Agent header, decoded, or the empty string."""
    for key, value in scope.get("headers", ()):
        if key == b"user-agent":
            return bytes(value[:MAX_USER_AGENT]).decode("latin-1")
    return ""


@lru_cache(maxsize=2048)
def parse_agent(user_agent: str) -> Agent:
    """OS and browser family names from a User-Agent, through ua-parser, cached.

    Unrecognised or empty agents give None for the part that was not recognised.
    """
    if not user_agent:
        return Agent()
    from ua_parser import parse_os, parse_user_agent

    text = user_agent[:MAX_USER_AGENT]
    browser = parse_user_agent(text)
    os_ = parse_os(text)
    return Agent(
        os=os_.family if os_ is not None and os_.family != "Other" else None,
        browser=browser.family if browser is not None and browser.family != "Other" else None,
    )
