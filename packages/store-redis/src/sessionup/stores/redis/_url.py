"""Parsing store URLs into what redis-py needs, without connecting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote

from sessionup.core.errors import StoreURLError

DEFAULT_PORT: Final = 6379

STANDALONE_SCHEMES: Final = ("redis", "rediss", "unix")
CLUSTER_SCHEMES: Final = ("redis+cluster", "rediss+cluster")
SCHEMES: Final = STANDALONE_SCHEMES + CLUSTER_SCHEMES


@dataclass(frozen=True, slots=True)
class Target:
    """Where the store connects: one server (host and port, or a socket) or cluster seeds."""

    scheme: str
    nodes: tuple[tuple[str, int], ...] = ()
    socket_path: str | None = None
    db: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def cluster(self) -> bool:
        """Whether this is a Redis Cluster."""
        return self.scheme in CLUSTER_SCHEMES

    @property
    def tls(self) -> bool:
        """Whether connections use TLS."""
        return self.scheme in ("rediss", "rediss+cluster")

    def describe(self) -> str:
        """The address without credentials, for messages."""
        if self.socket_path is not None:
            return f"unix://{self.socket_path}"
        hosts = ",".join(_join_host(host, port) for host, port in self.nodes)
        return f"{self.scheme}://{hosts}"


def parse_target(url: str) -> Target:
    """Parse a store URL that has had its query string removed.

    Forms: ``redis://[user:password@]host[:port][/db]``, ``rediss://...`` (TLS),
    ``unix://[user:password@]/path/to/socket``, and
    ``redis+cluster://[user:password@]host:port[,host:port...]`` (or ``rediss+cluster``)
    naming one or more seed nodes of a cluster.

    :raises StoreURLError: naming what is wrong.
    """
    if not isinstance(url, str) or "://" not in url:
        raise StoreURLError(f"redis store URL must look like redis://host:port, got {url!r}")
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise StoreURLError(
            f"redis store URL scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}"
        )
    if "#" in rest:
        raise StoreURLError("redis store URL must not have a #fragment")
    authority, slash, path = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    username, password = _credentials(userinfo) if at else (None, None)

    if scheme == "unix":
        if hosts:
            raise StoreURLError(f"unix:// URL must name a socket path (unix:///path), got {url!r}")
        if not path:
            raise StoreURLError("unix:// URL has no socket path")
        return Target(scheme, socket_path="/" + unquote(path), username=username, password=password)

    nodes = tuple(_node(part) for part in hosts.split(","))
    if scheme in CLUSTER_SCHEMES:
        if path not in ("", "0"):
            raise StoreURLError(f"Redis Cluster has only database 0; the URL names {path!r}")
        return Target(scheme, nodes=nodes, username=username, password=password)

    if len(nodes) > 1:
        raise StoreURLError(
            f"{scheme}:// names one server; for a Redis Cluster use {scheme}+cluster://"
        )
    return Target(
        scheme, nodes=nodes, db=_db(path) if slash else None, username=username, password=password
    )


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    user, colon, password = userinfo.partition(":")
    if not colon:
        # redis://secret@host: a lone value is the password, as redis-cli reads it.
        return None, unquote(user) or None
    return unquote(user) or None, unquote(password)


def _node(text: str) -> tuple[str, int]:
    if not text:
        raise StoreURLError("redis store URL names an empty host")
    if text.startswith("["):
        host, bracket, tail = text[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            raise StoreURLError(f"malformed IPv6 host in redis store URL: {text!r}")
        port_text = tail[1:] if tail else ""
    else:
        host, _, port_text = text.partition(":")
        if ":" in port_text:
            raise StoreURLError(f"IPv6 hosts must be bracketed, as [::1]:6379, got {text!r}")
    if not host:
        raise StoreURLError(f"redis store URL names an empty host in {text!r}")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise StoreURLError(f"redis store URL port must be 1 to 65535, got {port_text!r}")
    return host, int(port_text)


def _db(path: str) -> int | None:
    if not path:
        return None
    if not path.isdigit():
        raise StoreURLError(f"redis database must be a number, as redis://host/0, got {path!r}")
    return int(path)


def _join_host(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
