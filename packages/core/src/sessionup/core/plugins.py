"""Plugin discovery: stores and lifecycle observers, found through pluggy entry points.

A distribution becomes a sessionup plugin by naming a module in the ``sessionup``
entry-point group. That module should import nothing heavy: it only returns
:class:`StoreSpec` objects whose ``factory`` is a dotted path imported when a store of that
scheme is opened.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

import pluggy

from .errors import StoreConflictError, StoreNotFoundError, StoreURLError
from .store import coerce_options

if TYPE_CHECKING:
    from .session import Session
    from .store import Store

PROJECT: Final = "sessionup"

logger = logging.getLogger(__name__)

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorator for plugin hook implementations.
hookimpl = pluggy.HookimplMarker(PROJECT)

# Our own stores' schemes, and what installs them, for the message of an unknown scheme.
_FIRST_PARTY: Final[Mapping[str, str]] = {
    "sqlite": "sqlite",
    "redis": "redis",
    "rediss": "redis",
    "unix": "redis",
    "redis+cluster": "redis",
    "rediss+cluster": "redis",
    "mongodb": "mongo",
    "mongodb+srv": "mongo",
    "postgresql": "postgres",
    "postgres": "postgres",
}


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """A plugin's offer of a store for some URL schemes.

    :param schemes: lower-case URL schemes, such as ``("redis", "rediss")``.
    :param factory: ``"module:attribute"`` (the attribute may be dotted, such as
        ``"pkg.mod:MyStore.from_url"``) of a callable taking ``(url, **options)`` and
        returning a :class:`~sessionup.core.Store` without doing I/O.
    :param description: one line for ``sessionup stores``.
    """

    schemes: tuple[str, ...]
    factory: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """One installed scheme, as listed by :func:`available_stores`."""

    scheme: str
    distribution: str
    version: str
    factory: str
    description: str


class HookSpecs:
    """The hooks a sessionup plugin may implement. Implement only those you need."""

    @hookspec
    def sessionup_store_schemes(self) -> Sequence[StoreSpec]:  # type: ignore[empty-body]
        """Return the stores this plugin provides."""

    @hookspec
    def sessionup_session_created(self, session: Session) -> None:
        """A session was created (``init`` or ``rotate``)."""

    @hookspec
    def sessionup_session_revoked(self, user_key: str | None, count: int, reason: str) -> None:
        """``count`` sessions of ``user_key`` ended; ``reason`` names the call, such as
        ``"revoke"``, ``"revoke_other"``, ``"revoke_all"``, ``"login"`` or ``"rotate"``."""

    @hookspec
    def sessionup_session_rejected(self, reason: str, scope: Mapping[str, Any]) -> None:
        """A request's session cookie was refused. ``reason`` is one of ``"malformed"``,
        ``"ambiguous"``, ``"unknown"``, ``"mismatch"`` or ``"store_error"``."""


@dataclass(frozen=True, slots=True)
class _Entry:
    scheme: str
    spec: StoreSpec
    distribution: str
    version: str


class _Registry:
    """The process-wide plugin manager, built on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._manager: pluggy.PluginManager | None = None
        self._entries: dict[str, list[_Entry]] | None = None
        self.lifecycle = False

    def manager(self) -> pluggy.PluginManager:
        with self._lock:
            if self._manager is None:
                manager = pluggy.PluginManager(PROJECT)
                manager.add_hookspecs(HookSpecs)
                manager.load_setuptools_entrypoints(PROJECT)
                self._manager = manager
                self._refresh()
            return self._manager

    def register(self, plugin: object, name: str | None = None) -> None:
        manager = self.manager()
        with self._lock:
            manager.register(plugin, name)
            self._refresh()

    def unregister(self, plugin: object) -> None:
        manager = self.manager()
        with self._lock:
            manager.unregister(plugin)
            self._refresh()

    def entries(self) -> dict[str, list[_Entry]]:
        self.manager()
        assert self._entries is not None
        return self._entries

    def _refresh(self) -> None:
        assert self._manager is not None
        manager = self._manager
        dists = {id(plugin): dist for plugin, dist in manager.list_plugin_distinfo()}
        entries: dict[str, list[_Entry]] = {}
        for impl in manager.hook.sessionup_store_schemes.get_hookimpls():
            dist = dists.get(id(impl.plugin))
            dist_name = dist.project_name if dist is not None else impl.plugin_name
            version = dist.version if dist is not None else "unknown"
            offered = impl.function() or ()
            for spec in offered if isinstance(offered, (list, tuple)) else [offered]:
                if not isinstance(spec, StoreSpec):
                    # One broken plugin must not take every other store down with it.
                    logger.error(
                        "plugin %s offered %r instead of a StoreSpec; ignored", dist_name, spec
                    )
                    continue
                for scheme in spec.schemes:
                    entry = _Entry(scheme.lower(), spec, dist_name, version)
                    entries.setdefault(entry.scheme, []).append(entry)
        self._entries = entries
        hooks = manager.hook
        self.lifecycle = any(
            caller.get_hookimpls()
            for caller in (
                hooks.sessionup_session_created,
                hooks.sessionup_session_revoked,
                hooks.sessionup_session_rejected,
            )
        )


_registry = _Registry()


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide pluggy manager, with entry points loaded."""
    return _registry.manager()


def register(plugin: object, name: str | None = None) -> None:
    """Register a plugin object in this process, in addition to the entry points."""
    _registry.register(plugin, name)


def unregister(plugin: object) -> None:
    """Remove a plugin registered with :func:`register`."""
    _registry.unregister(plugin)


def lifecycle_hooks() -> pluggy.HookRelay | None:
    """The hook relay if any plugin observes the lifecycle, else None (the fast path)."""
    manager = _registry.manager()
    return manager.hook if _registry.lifecycle else None


def available_stores() -> list[StoreInfo]:
    """Every installed scheme with the distribution and version providing it."""
    return [
        StoreInfo(e.scheme, e.distribution, e.version, e.spec.factory, e.spec.description)
        for scheme in sorted(_registry.entries())
        for e in _registry.entries()[scheme]
    ]


def first_party_schemes() -> Mapping[str, str]:
    """Our own stores' schemes, each with the ``sessionup`` extra that installs it.

    >>> first_party_schemes()["postgresql"]
    'postgres'
    """
    return _FIRST_PARTY


def url_scheme(url: str) -> str:
    """The lower-case scheme of a store URL.

    :raises StoreURLError: if ``url`` has no scheme.
    """
    if not isinstance(url, str) or "://" not in url:
        raise StoreURLError(f"store URL must look like scheme://..., got {url!r}")
    return url.split("://", 1)[0].lower()


def split_url_options(url: str) -> tuple[str, dict[str, str]]:
    """Split a store URL into the URL without its query string and the query's options.

    :raises StoreURLError: if an option is given twice.
    """
    # Cut by hand: urlunsplit would turn "unix:///path" into "unix:/path".
    base, _, rest = url.partition("?")
    query, _, fragment = rest.partition("#")
    options: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in options:
            raise StoreURLError(f"option {name!r} is given twice in the store URL")
        options[name] = value
    return base + (f"#{fragment}" if fragment else ""), options


def store_options(
    scheme: str, url: str, options: Mapping[str, object], spec: Mapping[str, type]
) -> tuple[str, dict[str, Any]]:
    """What a store's ``from_url`` needs: the URL without its query string, and the options
    of the query and of the keywords together, checked against ``spec`` (name to type).

    >>> store_options("memory", "memory://?sweep_interval=2", {}, {"sweep_interval": float})
    ('memory://', {'sweep_interval': 2.0})

    :raises StoreURLError: for an option given both ways, twice in the query, unknown, or of
        the wrong type.
    """
    base, query = split_url_options(url)
    both = sorted(set(query) & set(options))
    if both:
        raise StoreURLError(f"options given both in the URL and as arguments: {', '.join(both)}")
    return base, coerce_options(scheme, {**query, **options}, spec)


def _resolve(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj


def open_store(url: str, **options: Any) -> Store:
    """Build the store for ``url``, chosen by its scheme among the installed plugins.

    The store is returned unopened: it connects on first use, on ``await store.open()``, or
    as an async context manager. Query parameters and ``options`` are both passed to the
    store, which type-checks them.

    >>> store = open_store("memory://")
    >>> type(store).__name__
    'MemoryStore'

    :raises StoreURLError: for a URL without a scheme or a bad or unknown option.
    :raises StoreNotFoundError: if no installed plugin provides the scheme; the message
        names the installed schemes and, for our own stores, the install command.
    :raises StoreConflictError: if two installed plugins claim the scheme.
    """
    scheme = url_scheme(url)
    entries = _registry.entries()
    found = entries.get(scheme)
    if not found:
        extra = _FIRST_PARTY.get(scheme)
        hint = f'pip install "sessionup[{extra}]"' if extra else None
        raise StoreNotFoundError(scheme, entries, hint)
    if len(found) > 1:
        raise StoreConflictError(scheme, found[0].distribution, found[1].distribution)
    factory = _resolve(found[0].spec.factory)
    store: Store = factory(url, **options)
    return store
