"""The manager: configuration, and every operation on the sessions of a request."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import TYPE_CHECKING, Any, Final

from . import plugins
from .cookies import (
    SameSite,
    check_cookie_options,
    clear_cookie_value,
    cookie_pattern,
    read_cookie,
    set_cookie_value,
)
from .errors import (
    ConfigError,
    MiddlewareMissingError,
    NotOwnerError,
    StoreError,
    Unauthorized,
)
from .identity import Network, client_ip, parse_agent, parse_networks, user_agent
from .session import Agent, IPAddress, Session, check_meta, check_user_key, parse_ip
from .tokens import (
    DEFAULT_TOKEN_LENGTH,
    MAX_TOKEN_LENGTH,
    MIN_TOKEN_LENGTH,
    checked_generator,
    generate_token,
    is_well_formed,
    token_pattern,
    token_to_id,
)

if TYPE_CHECKING:
    from .asgi import ASGIApp, Scope
    from .store import Store

logger = logging.getLogger(__name__)

#: How long the store keeps a session whose cookie lasts only for the browser's session.
BROWSER_SESSION_LIFETIME: Final = timedelta(hours=24)
#: The scope key under which a request's session state lives.
SCOPE_KEY: Final = "sessionup"

Reject = Callable[[Exception], "ASGIApp"]


@dataclass(slots=True)
class RequestState:
    """What the wrappers know of one request; kept in ``scope["sessionup"]``."""

    manager: Manager
    session: Session | None = None
    reason: str | None = None
    error: StoreError | None = None
    cookies: list[str] = field(default_factory=list)
    started: bool = False


class Manager:
    """Configuration plus the operations on sessions. Keeps no per-process session state.

    :param store: where sessions live (see :func:`sessionup.core.open_store`).
    :param cookie_name: the cookie's name; ``__Host-`` and ``__Secure-`` rules are checked.
    :param domain: the cookie's Domain, or None for a host-only cookie.
    :param path: the cookie's Path.
    :param secure: send the cookie over HTTPS only.
    :param http_only: hide the cookie from scripts.
    :param same_site: ``"strict"``, ``"lax"`` or ``"none"``.
    :param expires_in: absolute lifetime of a session; None makes the cookie last for the
        browser session while the store keeps the session for 24 hours.
    :param idle_timeout: a session unused for this long expires; each use slides expiry
        forward, never past the absolute lifetime, writing at most once per half window.
    :param with_ip: record the client address at creation.
    :param with_agent: record the client's OS and browser at creation.
    :param validate: refuse a session used from another address or User-Agent.
    :param trusted_proxies: addresses or networks (``"10.0.0.0/8"``) whose
        ``X-Forwarded-For`` is believed.
    :param hash_ids: store a SHA-256 of the token, never the token itself.
    :param gen_id: a custom token generator; its tokens are checked for alphabet and length.
    :param reject: builds the ASGI app that answers a failed ``auth``.

    :raises ConfigError: for any invalid option.

    >>> from sessionup.stores.memory import MemoryStore
    >>> manager = Manager(MemoryStore(), expires_in=timedelta(days=7))
    >>> manager.clone(cookie_name="__Host-sid").cookie_name
    '__Host-sid'
    """

    def __init__(
        self,
        store: Store,
        *,
        cookie_name: str = "sessionup",
        domain: str | None = None,
        path: str = "/",
        secure: bool = True,
        http_only: bool = True,
        same_site: SameSite = "strict",
        expires_in: timedelta | None = None,
        idle_timeout: timedelta | None = None,
        with_ip: bool = True,
        with_agent: bool = True,
        validate: bool = False,
        trusted_proxies: Sequence[str] = (),
        hash_ids: bool = True,
        gen_id: Callable[[], str] | None = None,
        reject: Reject | None = None,
    ) -> None:
        check_cookie_options(
            cookie_name, domain=domain, path=path, secure=secure, same_site=same_site
        )
        for name, value in (("expires_in", expires_in), ("idle_timeout", idle_timeout)):
            if value is not None and (not isinstance(value, timedelta) or value <= timedelta(0)):
                raise ConfigError(f"{name} must be a positive timedelta or None, got {value!r}")
        self.store = store
        self.cookie_name = cookie_name
        self.domain = domain
        self.path = path
        self.secure = secure
        self.http_only = http_only
        self.same_site: SameSite = same_site
        self.expires_in = expires_in
        self.idle_timeout = idle_timeout
        self.with_ip = with_ip
        self.with_agent = with_agent
        self.validate = validate
        self.trusted_proxies = tuple(trusted_proxies)
        self.hash_ids = hash_ids
        self.gen_id = gen_id
        self.reject: Reject
        if reject is None:
            from .asgi import default_reject

            self.reject = default_reject
        else:
            self.reject = reject
        self._networks: tuple[Network, ...] = parse_networks(self.trusted_proxies)
        self._generate = generate_token if gen_id is None else checked_generator(gen_id)
        # Tokens of the default generator have one length; a custom one may vary.
        self._token_lengths = (
            (DEFAULT_TOKEN_LENGTH, DEFAULT_TOKEN_LENGTH)
            if gen_id is None
            else (MIN_TOKEN_LENGTH, MAX_TOKEN_LENGTH)
        )
        self._cookie_key = cookie_name.encode("ascii")
        self._cookie_pattern = cookie_pattern(self._cookie_key)
        self._token_shape = token_pattern(*self._token_lengths)
        self._lifetime = expires_in or BROWSER_SESSION_LIFETIME
        self._half_idle = idle_timeout / 2 if idle_timeout is not None else None
        # Nested wrappers of managers with one cookie over one store share a request's load.
        self._share_key = (cookie_name, id(store))

    def clone(self, **changes: Any) -> Manager:
        """A copy of this manager with some options changed (same store unless given)."""
        options: dict[str, Any] = {
            "cookie_name": self.cookie_name,
            "domain": self.domain,
            "path": self.path,
            "secure": self.secure,
            "http_only": self.http_only,
            "same_site": self.same_site,
            "expires_in": self.expires_in,
            "idle_timeout": self.idle_timeout,
            "with_ip": self.with_ip,
            "with_agent": self.with_agent,
            "validate": self.validate,
            "trusted_proxies": self.trusted_proxies,
            "hash_ids": self.hash_ids,
            "gen_id": self.gen_id,
            "reject": self.reject,
        }
        store = changes.pop("store", self.store)
        unknown = set(changes) - set(options)
        if unknown:
            raise ConfigError(f"unknown Manager option(s): {', '.join(sorted(unknown))}")
        options.update(changes)
        return Manager(store, **options)

    # ASGI wrappers -------------------------------------------------------------------------

    def public(self, app: ASGIApp) -> ASGIApp:
        """Wrap ``app`` so every request is let through, with its session loaded if it has
        one. A store failure is logged and the request goes on without a session."""
        from .asgi import SessionMiddleware

        return SessionMiddleware(app, self, required=False)

    def auth(self, app: ASGIApp) -> ASGIApp:
        """Wrap ``app`` so only requests with a live session reach it; others get
        ``reject(error)``: 401 by default, 503 when the store failed."""
        from .asgi import SessionMiddleware

        return SessionMiddleware(app, self, required=True)

    # Per-request operations ----------------------------------------------------------------

    async def init(
        self, request: object, user_key: str, meta: Mapping[str, str] | None = None
    ) -> Session:
        """Create a session for ``user_key`` and queue its cookie on the response.

        A session the request already carried is revoked first: a login never keeps an old
        token alive.

        :raises InvalidUserKeyError: for an empty, too long or forbidden-character key.
        :raises InvalidMetaError: for metadata over the limits or of non-string data.
        :raises MiddlewareMissingError: if neither ``public`` nor ``auth`` wraps the app.
        :raises StoreError: if the store fails (nothing is queued on the response).
        """
        state = self._state(request)
        scope = _scope_of(request)
        if state.started:
            raise RuntimeError("init() after the response started: the cookie cannot be set")
        user_key = check_user_key(user_key)
        checked_meta = check_meta(meta)
        if state.session is not None:
            await self._revoke_one(state.session, "login")
        token, session = await self._create(
            user_key,
            checked_meta,
            client_ip(scope, self._networks) if self.with_ip else None,
            parse_agent(user_agent(scope)) if self.with_agent else Agent(),
        )
        state.session, state.reason = session.with_current(), None
        state.cookies.append(self.cookie_header(token, session))
        return state.session

    async def fetch_all(self, request: object) -> list[Session]:
        """The current user's live sessions, the request's own marked ``current``.

        :raises Unauthorized: if the request has no session.
        """
        current = self._require(request)
        sessions = await self.store.fetch_by_user_key(current.user_key)
        return [s.with_current(s.id == current.id) for s in sessions]

    async def revoke(self, request: object) -> bool:
        """End the request's session and clear its cookie; False if it had none."""
        state = self._state(request)
        session = state.session
        state.session = None
        state.cookies.append(self.clear_cookie_header())
        if session is None:
            return False
        return await self._revoke_one(session, "revoke")

    async def revoke_other(self, request: object) -> int:
        """End every session of the current user but this one; return how many ended.

        :raises Unauthorized: if the request has no session.
        """
        current = self._require(request)
        count = await self.store.delete_by_user_key(current.user_key, except_ids=(current.id,))
        self._revoked(current.user_key, count, "revoke_other")
        return count

    async def revoke_all(self, request: object) -> int:
        """End every session of the current user, this one included, and clear the cookie.

        :raises Unauthorized: if the request has no session.
        """
        current = self._require(request)
        state = self._state(request)
        count = await self.store.delete_by_user_key(current.user_key)
        state.session = None
        state.cookies.append(self.clear_cookie_header())
        self._revoked(current.user_key, count, "revoke_all")
        return count

    async def revoke_by_id_ext(self, request: object, id: str) -> bool:
        """End session ``id`` if it belongs to the current user; False if it is gone.

        :raises Unauthorized: if the request has no session.
        :raises NotOwnerError: if the session belongs to another user (nothing is deleted).
        """
        current = self._require(request)
        target = await self.store.fetch_by_id(id) if isinstance(id, str) else None
        if target is None:
            return False
        if target.user_key != current.user_key:
            raise NotOwnerError("that session belongs to another user")
        if target.id == current.id:
            return await self.revoke(request)
        return await self._revoke_one(target, "revoke_by_id_ext")

    async def rotate(self, request: object) -> Session:
        """Move the request's session to a new token; the old token is dead at once.

        Use it on any privilege change. Creation time, expiry, identity and metadata stay.

        :raises Unauthorized: if the request has no session.
        """
        current = self._require(request)
        state = self._state(request)
        token = self._generate()
        session = replace(current, id=self._id_of(token), current=False)
        await self.store.create(session)
        try:
            await self.store.delete_by_id(current.id)
        except StoreError:
            await self.store.delete_by_id(session.id)
            raise
        state.session = session.with_current()
        state.cookies.append(self.cookie_header(token, session))
        self._revoked(current.user_key, 1, "rotate")
        self._created(session)
        return state.session

    # Calls that need no request ------------------------------------------------------------

    async def revoke_by_id(self, id: str) -> bool:
        """End the session with this id, whoever owns it; False if there was none."""
        deleted = await self.store.delete_by_id(id)
        if deleted:
            self._revoked(None, 1, "revoke_by_id")
        return deleted

    async def revoke_by_user_key(self, user_key: str) -> int:
        """End every session of ``user_key``; return how many ended."""
        count = await self.store.delete_by_user_key(check_user_key(user_key))
        self._revoked(user_key, count, "revoke_by_user_key")
        return count

    # Framework-free entry points -----------------------------------------------------------

    async def issue(
        self,
        user_key: str,
        *,
        meta: Mapping[str, str] | None = None,
        ip: str | IPAddress | None = None,
        user_agent: str | None = None,
    ) -> tuple[str, Session]:
        """Create a session outside ASGI; returns ``(token, session)``.

        Put the token in a cookie with :meth:`cookie_header`. Nothing is revoked: the caller
        ends any previous session of the client itself.
        """
        address = parse_ip(ip) if isinstance(ip, str) else ip
        agent = parse_agent(user_agent or "") if self.with_agent else Agent()
        return await self._create(
            check_user_key(user_key), check_meta(meta), address if self.with_ip else None, agent
        )

    async def authenticate(
        self, token: str, *, ip: str | IPAddress | None = None, user_agent: str | None = None
    ) -> Session | None:
        """The live session for a token, or None; applies expiry, validation and idle time.

        ``ip`` and ``user_agent`` are needed only with ``validate=True``.

        :raises StoreError: if the store fails; a failure never authenticates.
        """
        address = parse_ip(ip) if isinstance(ip, str) else ip
        state = RequestState(self)
        await self._authenticate(state, token, address, user_agent or "")
        return state.session

    def token_from_cookie_header(self, header: str | bytes) -> str | None:
        """The session token in a ``Cookie`` header value, or None (absent, ambiguous or
        malformed), by the same rules as the ASGI wrappers."""
        raw = header.encode("latin-1") if isinstance(header, str) else header
        outcome, value = read_cookie([(b"cookie", raw)], self._cookie_key)
        if outcome != "ok":
            return None
        token = value.decode("latin-1")
        return token if is_well_formed(token, *self._token_lengths) else None

    def cookie_header(self, token: str, session: Session) -> str:
        """The ``Set-Cookie`` value carrying ``token`` for ``session``."""
        max_age = None
        now = datetime.now(UTC)
        if self.expires_in is not None:
            max_age = session.created_at + self.expires_in - now
        return set_cookie_value(
            self.cookie_name,
            token,
            domain=self.domain,
            path=self.path,
            secure=self.secure,
            http_only=self.http_only,
            same_site=self.same_site,
            max_age=max_age,
            now=now,
        )

    def clear_cookie_header(self) -> str:
        """The ``Set-Cookie`` value that deletes the session cookie."""
        return clear_cookie_value(
            self.cookie_name,
            domain=self.domain,
            path=self.path,
            secure=self.secure,
            http_only=self.http_only,
            same_site=self.same_site,
        )

    # Internals -----------------------------------------------------------------------------

    async def _load(self, scope: Scope) -> RequestState:
        """Read the cookie of a request and find its session: the per-request hot path.

        The common case (a well-formed cookie of a live session) runs in this one coroutine
        with no helper calls beyond the store's; rarer branches go to helpers.
        """
        state = RequestState(self)
        outcome, raw = read_cookie(scope["headers"], self._cookie_key, self._cookie_pattern)
        if outcome != "ok":
            if outcome == "ambiguous":
                self._rejected(state, "ambiguous", scope)
            return state
        if self._token_shape.fullmatch(raw) is None:
            if raw:
                self._rejected(state, "malformed", scope)
            return state
        session_id = sha256(raw).hexdigest() if self.hash_ids else raw.decode("ascii")
        session = await self.store.fetch_by_id(session_id)
        now = datetime.now(UTC)
        if session is None or session.expires_at <= now:
            self._rejected(state, "unknown", scope)
            return state
        if self.validate and not self._same_client(
            session, client_ip(scope, self._networks), user_agent(scope)
        ):
            self._rejected(state, "mismatch", scope)
            return state
        if self._half_idle is not None and session.expires_at - now < self._half_idle:
            slid = await self._slide(session, now)
            if slid is None:
                self._rejected(state, "unknown", scope)
                return state
            session = slid
        state.session = session.with_current()
        return state

    async def _authenticate(
        self, state: RequestState, token: str, ip: IPAddress | None, agent: str
    ) -> None:
        """:meth:`authenticate` for a token given as a string, outside any request.

        The token is checked first, then goes through :meth:`_load` in a minimal scope, so
        both entry points apply the same rules.
        """
        if not isinstance(token, str) or not is_well_formed(token, *self._token_lengths):
            self._rejected(state, "malformed", None)
            return
        scope: dict[str, Any] = {"headers": [], "client": None}
        if ip is not None:
            scope["client"] = (str(ip), 0)
        if agent:
            scope["headers"].append((b"user-agent", agent.encode("latin-1", "replace")))
        scope["headers"].append((b"cookie", self._cookie_key + b"=" + token.encode("ascii")))
        loaded = await self._load(scope)
        state.session, state.reason = loaded.session, loaded.reason

    async def _slide(self, session: Session, now: datetime) -> Session | None:
        """Push an idle-timed session's expiry forward, capped at its absolute lifetime."""
        assert self.idle_timeout is not None
        expires_at = min(now + self.idle_timeout, session.created_at + self._lifetime)
        if expires_at <= session.expires_at:
            return session
        if not await self.store.touch(session.id, expires_at):
            return None
        return replace(session, expires_at=expires_at)

    def _same_client(self, session: Session, ip: IPAddress | None, agent: str) -> bool:
        if session.ip is not None and ip != session.ip:
            return False
        return not (self.with_agent and parse_agent(agent) != session.agent)

    async def _create(
        self, user_key: str, meta: Mapping[str, str], ip: IPAddress | None, agent: Agent
    ) -> tuple[str, Session]:
        now = datetime.now(UTC)
        expires_at = now + self._lifetime
        if self.idle_timeout is not None:
            expires_at = min(expires_at, now + self.idle_timeout)
        token = self._generate()
        session = Session(
            id=self._id_of(token),
            user_key=user_key,
            created_at=now,
            expires_at=expires_at,
            ip=ip,
            agent=agent,
            meta=meta,
        )
        await self.store.create(session)
        self._created(session)
        return token, session

    def _id_of(self, token: str) -> str:
        return token_to_id(token) if self.hash_ids else token

    async def _revoke_one(self, session: Session, reason: str) -> bool:
        deleted = await self.store.delete_by_id(session.id)
        if deleted:
            self._revoked(session.user_key, 1, reason)
        return deleted

    def _state(self, request: object) -> RequestState:
        state = _scope_of(request).get(SCOPE_KEY)
        if not isinstance(state, RequestState):
            raise MiddlewareMissingError(
                "no sessionup wrapper saw this request: wrap the ASGI app with "
                "manager.public(app) or manager.auth(app)"
            )
        return state

    def _require(self, request: object) -> Session:
        session = self._state(request).session
        if session is None:
            raise Unauthorized("no_session", "the request has no live session")
        return session

    def _rejected(self, state: RequestState, reason: str, scope: Scope | None) -> None:
        state.reason = reason
        if reason != "unknown":
            logger.warning("session cookie rejected: %s (cookie %s)", reason, self.cookie_name)
        hooks = plugins.lifecycle_hooks()
        if hooks is not None:
            hooks.sessionup_session_rejected(reason=reason, scope=scope or {})

    def _created(self, session: Session) -> None:
        hooks = plugins.lifecycle_hooks()
        if hooks is not None:
            hooks.sessionup_session_created(session=session)

    def _revoked(self, user_key: str | None, count: int, reason: str) -> None:
        hooks = plugins.lifecycle_hooks()
        if hooks is not None and count:
            hooks.sessionup_session_revoked(user_key=user_key, count=count, reason=reason)

    def __repr__(self) -> str:
        return f"Manager(store={type(self.store).__name__}, cookie_name={self.cookie_name!r})"


def _scope_of(request: object) -> dict[str, Any]:
    if isinstance(request, dict):
        return request
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict):
        raise TypeError(
            f"expected an ASGI scope or an object with .scope, got {type(request).__name__}"
        )
    return scope


def current_session(request: object) -> Session | None:
    """The live session of the request, or None if it has none.

    :raises MiddlewareMissingError: if no ``manager.public``/``manager.auth`` wraps the app.
    """
    state = _scope_of(request).get(SCOPE_KEY)
    if not isinstance(state, RequestState):
        raise MiddlewareMissingError(
            "no sessionup wrapper saw this request: wrap the ASGI app with "
            "manager.public(app) or manager.auth(app)"
        )
    return state.session
