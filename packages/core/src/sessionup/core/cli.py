"""The ``sessionup`` command: inspect and maintain a session store from a shell.

Every store command takes the store URL as its first argument, or from ``--store``, or
from the ``SESSIONUP_STORE_URL`` environment variable, in that order. Tables are written
for a terminal; ``--json`` writes one JSON document on stdout for scripts.

Exit codes, the same for every command:

- ``0``: done.
- ``1``: the command ran and failed: the store could not be reached or reported an error,
  or ``check`` found the round trip wrong. Retrying may help.
- ``2``: the command cannot run as given: bad arguments, no or malformed store URL, an
  unknown scheme or store option, a missing optional package. Retrying will not help.
- ``130``: interrupted (Ctrl-C).

``conformance`` exits with pytest's own status instead (0 when every test passed).

This module imports nothing beyond the core: the web framework is imported only by
``demo`` and the conformance suite only by ``conformance``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.util
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, Final, NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import __version__
from .errors import (
    ConfigError,
    InvalidUserKeyError,
    StoreConflictError,
    StoreError,
    StoreNotFoundError,
    StoreURLError,
)
from .plugins import available_stores, first_party_schemes, open_store, url_scheme
from .session import Session, check_user_key
from .tokens import generate_token, token_to_id

if TYPE_CHECKING:
    from .store import Store

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

#: The environment variable a store URL is read from when none is given.
STORE_URL_ENV: Final = "SESSIONUP_STORE_URL"
#: Where ``sessionup demo`` keeps its data unless told otherwise.
DEMO_STORE_URL: Final = "sqlite:///sessionup-demo.db"
#: Expired sessions deleted per ``delete_expired`` call by ``purge``.
DEFAULT_BATCH: Final = 1000
#: Characters of a session id shown in tables; ``--json`` and ``--full-ids`` show it all.
SHORT_ID: Final = 12

_PROG: Final = "sessionup"
_CONFORMANCE_MODULES: Final = ("sessionup", "sessionup.conformance")
# Query options whose values must never reach a terminal or a log.
_SECRET_OPTIONS: Final = ("pass", "secret", "token", "key")


class UsageError(Exception):
    """The command line is wrong; the message says how to fix it (exit 2)."""


class CheckFailed(Exception):
    """``check`` reached the store but the round trip came back wrong (exit 1)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the way to help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


# Output helpers ---------------------------------------------------------------------------


def printable(text: str) -> str:
    """``text`` with every non-printable character escaped, safe to write to a terminal.

    Store data (user keys, browser names parsed from a User-Agent) is not trusted: a raw
    escape sequence in it could rewrite what the operator sees.

    >>> printable("Chrome\\x1b[2J")
    'Chrome\\\\x1b[2J'
    """
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            if code < 0x100:
                out.append(f"\\x{code:02x}")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    return "".join(out)


def redact_url(url: str) -> str:
    """The URL with its password and secret-looking query values replaced by ``***``.

    >>> redact_url("postgresql://app:hunter2@db/sessions?sslpassword=x&timeout=3")
    'postgresql://app:***@db/sessions?sslpassword=%2A%2A%2A&timeout=3'
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable URL>"
    if password is None and not any(_is_secret(n) for n, _ in parse_qsl(parts.query)):
        return url
    netloc = parts.netloc
    if password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:***@{hostinfo}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_is_secret(name) for name, _ in pairs):
            query = urlencode([(n, "***" if _is_secret(n) else v) for n, v in pairs])
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _is_secret(option: str) -> bool:
    lowered = option.lower()
    return any(word in lowered for word in _SECRET_OPTIONS)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> str:
    """Rows aligned under ``headers``, the widest columns cut with ``…`` to fit ``width``.

    >>> print(format_table(["A", "B"], [["1", "long text"]], 12))
    A  B
    1  long text
    >>> print(format_table(["A", "B"], [["1", "long text"]], 9))
    A  B
    1  long…
    """
    cells = [[printable(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    floor = [max(len(h), 4) for h in headers]
    while sum(widths) + 2 * (len(widths) - 1) > width:
        cuttable = [i for i, w in enumerate(widths) if w > floor[i]]
        if not cuttable:
            break
        widest = max(cuttable, key=lambda i: widths[i])
        widths[widest] -= 1
    lines = [headers, *cells]
    return "\n".join(
        "  ".join(_fit(c, w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def _fit(text: str, width: int) -> str:
    if len(text) <= width:
        return text.ljust(width)
    return (text[: width - 1].rstrip() + "…").ljust(width)


def _terminal_width() -> int:
    return shutil.get_terminal_size((100, 24)).columns


def _is_terminal(stream: IO[str]) -> bool:
    """Whether progress may be drawn on ``stream``: a terminal, not a pipe or a file."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _write_json(value: object) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _session_json(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "user_key": session.user_key,
        "created_at": session.created_at.isoformat(),
        "expires_at": session.expires_at.isoformat(),
        "ip": None if session.ip is None else str(session.ip),
        "os": session.agent.os,
        "browser": session.agent.browser,
        "meta": dict(session.meta),
    }


# Store access -----------------------------------------------------------------------------


def resolve_url(positional: str | None, option: str | None) -> str:
    """The store URL: the argument, else ``--store``, else ``$SESSIONUP_STORE_URL``.

    :raises UsageError: if none is given, or the argument and ``--store`` disagree.
    """
    if positional and option and positional != option:
        raise UsageError(
            "the store URL is given twice, as an argument and with --store; give it once"
        )
    url = positional or option or os.environ.get(STORE_URL_ENV, "").strip()
    if not url:
        raise UsageError(
            f"no store URL: give one as an argument, with --store URL, or in ${STORE_URL_ENV}"
            " (for example sqlite:///sessions.db)"
        )
    return url


def _build_store(url: str) -> Store:
    """The store for ``url``, unopened; bad URLs become a :class:`UsageError`."""
    try:
        return open_store(url)
    except (StoreNotFoundError, StoreConflictError) as exc:
        raise UsageError(str(exc)) from exc
    except (StoreURLError, ConfigError, ValueError, TypeError) as exc:
        raise UsageError(f"bad store URL {redact_url(url)}: {exc}") from exc


def _store_error_line(exc: StoreError) -> str:
    message = " ".join(str(exc).split()) or type(exc).__name__
    cause = exc.__cause__
    if cause is not None:
        detail = " ".join(str(cause).split())
        message += f" (caused by {type(cause).__name__}{': ' + detail if detail else ''})"
    return message


# Commands ---------------------------------------------------------------------------------


def cmd_stores(args: argparse.Namespace) -> int:
    """List the installed store schemes."""
    stores = available_stores()
    if args.json:
        _write_json(
            [
                {
                    "scheme": s.scheme,
                    "distribution": s.distribution,
                    "version": s.version,
                    "factory": s.factory,
                    "description": s.description,
                }
                for s in stores
            ]
        )
        return EXIT_OK

    rows = [[s.scheme, s.distribution, s.version, s.description] for s in stores]
    print(
        format_table(["SCHEME", "DISTRIBUTION", "VERSION", "DESCRIPTION"], rows, _terminal_width())
    )
    installed = {s.scheme for s in stores}
    missing: dict[str, list[str]] = {}
    for scheme, extra in first_party_schemes().items():
        if scheme not in installed:
            missing.setdefault(extra, []).append(scheme)
    if missing:
        print("\nNot installed:")
        commands = {extra: f'pip install "sessionup[{extra}]"' for extra in missing}
        pad = max(len(c) for c in commands.values())
        for extra, schemes in missing.items():
            print(f"  {commands[extra]:<{pad}}  for {', '.join(schemes)}")
    return EXIT_OK


@dataclass(slots=True)
class CheckResult:
    """What ``check`` measured; timings in milliseconds."""

    url: str
    scheme: str
    provider: str
    open_ms: float | None = None
    create_ms: float | None = None
    fetch_ms: float | None = None
    delete_ms: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def round_trip_ms(self) -> float | None:
        steps = (self.create_ms, self.fetch_ms, self.delete_ms)
        if any(step is None for step in steps):
            return None
        return sum(step for step in steps if step is not None)


async def _check(store: Store, result: CheckResult) -> None:
    now = datetime.now(UTC)
    probe = Session(
        id=token_to_id(generate_token()),
        user_key="sessionup-check:" + generate_token()[:16],
        created_at=now,
        expires_at=now + timedelta(minutes=1),
    )

    def elapsed(start: float) -> float:
        return (time.perf_counter() - start) * 1000

    start = time.perf_counter()
    await store.open()
    result.open_ms = elapsed(start)
    try:
        start = time.perf_counter()
        await store.create(probe)
        result.create_ms = elapsed(start)

        start = time.perf_counter()
        fetched = await store.fetch_by_id(probe.id)
        result.fetch_ms = elapsed(start)
        _compare_probe(store, probe, fetched)

        start = time.perf_counter()
        deleted = await store.delete_by_id(probe.id)
        result.delete_ms = elapsed(start)
        if not deleted:
            raise CheckFailed("deleting the probe session reported nothing deleted")
        if await store.fetch_by_id(probe.id) is not None:
            raise CheckFailed("the probe session can still be fetched after its deletion")
    finally:
        # The probe expires within a minute anyway; this only keeps the store tidy.
        if result.delete_ms is None and result.create_ms is not None:
            with contextlib.suppress(StoreError):
                await store.delete_by_id(probe.id)


def _compare_probe(store: Store, probe: Session, fetched: Session | None) -> None:
    if fetched is None:
        raise CheckFailed("the probe session just created cannot be fetched by its id")
    if fetched.id != probe.id or fetched.user_key != probe.user_key:
        raise CheckFailed("the probe session read back has a different id or user key")
    precision = store.traits.expiry_precision
    if abs(fetched.expires_at - probe.expires_at) > precision:
        raise CheckFailed(
            f"the probe session read back expires at {fetched.expires_at.isoformat()}, "
            f"not {probe.expires_at.isoformat()}"
        )


def cmd_check(args: argparse.Namespace) -> int:
    """Open the store and time a create, fetch and delete of a probe session."""
    url = resolve_url(args.url, args.store)
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    store = _build_store(url)
    scheme = url_scheme(url)
    providers = [f"{s.distribution} {s.version}" for s in available_stores() if s.scheme == scheme]
    result = CheckResult(redact_url(url), scheme, providers[0] if providers else "unknown")

    async def run() -> None:
        try:
            async with asyncio.timeout(args.timeout):
                await _check(store, result)
        except CheckFailed as exc:
            result.error = f"check failed: {exc}"
        except StoreError as exc:
            result.error = f"store error: {_store_error_line(exc)}"
        except TimeoutError:
            result.error = f"store error: no answer within {args.timeout:g} s"
        finally:
            with contextlib.suppress(StoreError):
                await store.close()

    asyncio.run(run())
    _report_check(result, json_output=args.json)
    return EXIT_OK if result.ok else EXIT_FAILURE


def _report_check(result: CheckResult, *, json_output: bool) -> None:
    if json_output:
        _write_json(
            {
                "ok": result.ok,
                "url": result.url,
                "scheme": result.scheme,
                "provider": result.provider,
                "timings_ms": {
                    "open": _ms(result.open_ms),
                    "create": _ms(result.create_ms),
                    "fetch": _ms(result.fetch_ms),
                    "delete": _ms(result.delete_ms),
                    "round_trip": _ms(result.round_trip_ms),
                },
                "error": result.error,
            }
        )
        return

    print(f"store    {printable(result.url)}  ({result.provider})")
    for name in ("open", "create", "fetch", "delete"):
        value = getattr(result, f"{name}_ms")
        if value is not None:
            print(f"{name:<8} {value:8.2f} ms")
    if result.ok:
        print(f"ok: create, fetch and delete of a probe session took {result.round_trip_ms:.2f} ms")
    else:
        print(f"{_PROG} check: {printable(result.error or '')}", file=sys.stderr)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def cmd_sessions(args: argparse.Namespace) -> int:
    """List a user's live sessions."""
    url = resolve_url(args.url, args.store)
    user_key = _user_key(args.user)
    store = _build_store(url)

    async def run() -> list[Session]:
        async with store:
            return await store.fetch_by_user_key(user_key)

    sessions = sorted(asyncio.run(run()), key=lambda s: (s.created_at, s.id))
    if args.json:
        _write_json([_session_json(s) for s in sessions])
        return EXIT_OK

    if not sessions:
        print(f"user {printable(user_key)!r} has no live sessions")
        return EXIT_OK
    rows = [
        [
            s.id if args.full_ids else _short_id(s.id),
            _when(s.created_at),
            _when(s.expires_at),
            "-" if s.ip is None else str(s.ip),
            s.agent.os or "-",
            s.agent.browser or "-",
        ]
        for s in sessions
    ]
    headers = ["ID", "CREATED (UTC)", "EXPIRES (UTC)", "IP", "OS", "BROWSER"]
    print(format_table(headers, rows, 10_000 if args.full_ids else _terminal_width()))
    count = len(sessions)
    print(f"\n{count} live session{'s' if count != 1 else ''} of user {printable(user_key)!r}")
    return EXIT_OK


def _short_id(session_id: str) -> str:
    return session_id if len(session_id) <= SHORT_ID else session_id[:SHORT_ID] + "…"


def _user_key(value: str) -> str:
    try:
        return check_user_key(value)
    except InvalidUserKeyError as exc:
        raise UsageError(f"bad --user: {exc}") from exc


def cmd_revoke(args: argparse.Namespace) -> int:
    """End every session of a user, or one session by its id."""
    url = resolve_url(args.url, args.store)
    user_key = None if args.user is None else _user_key(args.user)
    session_id: str | None = args.id
    if session_id is not None and not session_id:
        raise UsageError("--id must not be empty")
    store = _build_store(url)

    async def run() -> int:
        async with store:
            if user_key is not None:
                return await store.delete_by_user_key(user_key)
            assert session_id is not None
            return int(await store.delete_by_id(session_id))

    revoked = asyncio.run(run())
    if args.json:
        target = {"user_key": user_key} if user_key is not None else {"id": session_id}
        _write_json({"revoked": revoked, **target})
        return EXIT_OK

    if user_key is not None:
        noun = "session" if revoked == 1 else "sessions"
        print(f"revoked {revoked} {noun} of user {printable(user_key)!r}")
    elif revoked:
        print(f"revoked session {printable(_short_id(session_id or ''))}")
    else:
        print(
            "no live session has this id; give the full id, as listed by "
            f"'{_PROG} sessions --user KEY --full-ids' or --json"
        )
    return EXIT_OK


class _Progress:
    """A one-line counter redrawn on a terminal at most ten times a second; silent on a pipe."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._enabled = _is_terminal(stream)
        self._start = time.monotonic()
        self._shown = 0.0

    def update(self, deleted: int) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._shown < 0.1:
            return
        self._shown = now
        rate = deleted / max(now - self._start, 1e-9)
        self._stream.write(f"\rpurging: {deleted:,} expired sessions deleted ({rate:,.0f}/s)")
        self._stream.flush()

    def clear(self) -> None:
        if self._enabled:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete expired sessions in batches until none is left."""
    url = resolve_url(args.url, args.store)
    if args.batch < 1:
        raise UsageError(f"--batch must be at least 1, got {args.batch}")
    store = _build_store(url)
    progress = _Progress(sys.stderr)
    deleted = 0
    batches = 0
    start = time.monotonic()

    async def run() -> None:
        nonlocal deleted, batches
        async with store:
            while True:
                count = await store.delete_expired(limit=args.batch)
                deleted += count
                batches += 1
                progress.update(deleted)
                if count < args.batch:
                    return

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        progress.clear()
        print(f"{_PROG}: interrupted after deleting {deleted:,} expired sessions", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        progress.clear()
    seconds = time.monotonic() - start

    if args.json:
        _write_json({"deleted": deleted, "batches": batches, "seconds": round(seconds, 3)})
        return EXIT_OK
    noun = "session" if deleted == 1 else "sessions"
    print(f"deleted {deleted:,} expired {noun} in {batches:,} batches, {seconds:.2f} s")
    if deleted == 0 and store.traits.native_ttl:
        print("(this store's backend removes expired sessions by itself)")
    return EXIT_OK


def cmd_conformance(args: argparse.Namespace) -> int:
    """Run the store conformance suite against a URL; pytest's exit status is returned."""
    url = resolve_url(args.url, args.store)
    _build_store(url)
    pytest_args = list(args.pytest_args)
    try:
        conformance = importlib.import_module("sessionup.conformance")
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name in _CONFORMANCE_MODULES:
            raise UsageError(
                "the conformance suite is not installed; "
                'install it with: pip install "sessionup[conformance]"'
            ) from exc
        raise UsageError(f"the conformance suite cannot be imported: {exc}") from exc
    run: Callable[[str, Sequence[str]], int] = conformance.run
    return run(url, pytest_args)


def cmd_demo(args: argparse.Namespace) -> int:
    """Serve the demo app with uvicorn until interrupted."""
    missing = [
        name
        for name, modules in (
            ("starlette", ("starlette",)),
            ("uvicorn", ("uvicorn",)),
            ("python-multipart", ("python_multipart", "multipart")),
            ("sessionup-store-sqlite", ("sessionup.stores.sqlite",)),
        )
        if not any(_module_exists(m) for m in modules)
    ]
    if missing:
        raise UsageError(
            f"the demo needs {', '.join(missing)}, not installed; "
            'install it with: pip install "sessionup[demo]"'
        )
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {args.port}")
    _build_store(args.store)

    from .demo import run

    run(args.store, args.host, args.port)
    return EXIT_OK


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# The parser ---------------------------------------------------------------------------------

_URL_NOTE = f"The store URL comes from the URL argument, else --store, else ${STORE_URL_ENV}."
_EXIT_CODES = """\
exit status:
  0    done
  1    the command ran and failed (store unreachable or in error, check failed)
  2    the command cannot run as given (bad arguments, no or bad store URL,
       unknown scheme or option, missing optional package)
  130  interrupted
  conformance exits with pytest's status."""
_EXAMPLES = f"""\
examples:
  {_PROG} stores
  {_PROG} check sqlite:///sessions.db
  export {STORE_URL_ENV}=sqlite:///sessions.db
  {_PROG} sessions --user alice
  {_PROG} revoke --user alice --json
  {_PROG} purge
  {_PROG} conformance sqlite:///scratch.db -- -x -k touch
  {_PROG} demo --port 8000"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``sessionup`` command."""
    parser = _Parser(
        prog=_PROG,
        description="Inspect and maintain sessionup session stores.",
        epilog=f"{_URL_NOTE}\n\n{_EXAMPLES}\n\n{_EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    store = _Parser(add_help=False)
    store.add_argument("url", nargs="?", metavar="URL", help="store URL, such as sqlite:///s.db")
    store.add_argument("--store", metavar="URL", help=f"store URL (default: ${STORE_URL_ENV})")
    as_json = _Parser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="write JSON for scripts")

    def add(
        name: str,
        handler: Callable[[argparse.Namespace], int],
        help: str,
        parents: Sequence[_Parser] = (),
    ) -> argparse.ArgumentParser:
        command = commands.add_parser(
            name,
            help=help,
            description=help,
            parents=list(parents),
            epilog=f"{_URL_NOTE}\n\n{_EXIT_CODES}" if store in parents else _EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.set_defaults(handler=handler)
        return command

    add("stores", cmd_stores, "list the installed store schemes", [as_json])

    check = add("check", cmd_check, "time a round trip of a probe session", [store, as_json])
    check.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="give up after this long (default: 10)",
    )

    sessions = add("sessions", cmd_sessions, "list a user's live sessions", [store, as_json])
    sessions.add_argument("--user", required=True, metavar="KEY", help="the user key")
    sessions.add_argument("--full-ids", action="store_true", help="show whole session ids")

    revoke = add("revoke", cmd_revoke, "end a user's sessions, or one by id", [store, as_json])
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("--user", metavar="KEY", help="end every session of this user key")
    target.add_argument("--id", metavar="ID", help="end the session with this (full) id")

    purge = add("purge", cmd_purge, "delete expired sessions, in batches", [store, as_json])
    purge.add_argument(
        "--batch",
        type=int,
        default=DEFAULT_BATCH,
        metavar="N",
        help=f"sessions deleted per store call (default: {DEFAULT_BATCH})",
    )

    conformance = add(
        "conformance", cmd_conformance, "run the store conformance suite on a URL", [store]
    )
    conformance.add_argument(
        "pytest_args",
        nargs=argparse.REMAINDER,
        metavar="PYTEST_ARGS",
        help="passed to pytest, after the URL or after --",
    )

    demo = add("demo", cmd_demo, "serve the demo web app")
    demo.add_argument(
        "--store",
        default=DEMO_STORE_URL,
        metavar="URL",
        help=f"store URL (default: {DEMO_STORE_URL}; ${STORE_URL_ENV} is not read)",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to listen on")
    demo.add_argument("--port", type=int, default=8000, help="port to listen on")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sessionup`` command with ``argv`` (default: ``sys.argv[1:]``).

    :return: the exit status (see the module docstring); nothing is raised for a usage
        error, which is reported on stderr and returns 2.
    """
    parser = build_parser()
    args = list(sys.argv[1:] if argv is None else argv)
    # Everything after "--" belongs to pytest; cut it off before argparse can take any of
    # it for the URL.
    passed: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, passed = args[:cut], args[cut + 1 :]
    try:
        namespace = parser.parse_args(args)
    except SystemExit as exc:
        # --help, --version and usage errors: argparse has already written its output.
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if passed:
        if namespace.command != "conformance":
            print(
                f"{_PROG} {namespace.command}: error: '--' is only understood by "
                f"{_PROG} conformance (see: {_PROG} {namespace.command} --help)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        namespace.pytest_args = [*namespace.pytest_args, *passed]
    handler: Callable[[argparse.Namespace], int] = namespace.handler
    try:
        return handler(namespace)
    except UsageError as exc:
        print(f"{_PROG} {namespace.command}: error: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        line = printable(_store_error_line(exc))
        print(f"{_PROG} {namespace.command}: store error: {line}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
