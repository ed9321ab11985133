"""The demo's user accounts: a table in a small SQLite file, passwords hashed with scrypt.

Calls are blocking (``sqlite3`` and ``hashlib.scrypt``): the app runs them in a worker
thread so that hashing, deliberately slow, never stalls the event loop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Final

#: Usernames: 3 to 32 of ``a-z 0-9 . _ -``, compared in lower case. ASCII only, so two
#: accounts cannot differ by look-alike characters.
USERNAME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}")
MIN_PASSWORD: Final = 8
MAX_PASSWORD: Final = 1024

# scrypt at 16 MiB (N=2**14, r=8) with p=5: one of the settings OWASP's Password Storage
# Cheat Sheet lists as equal to its N=2**17 baseline, at an eighth of the memory.
_N: Final = 2**14
_R: Final = 8
_P: Final = 5
_SALT_BYTES: Final = 16
_KEY_BYTES: Final = 32
_MAXMEM: Final = 64 * 2**20
_LAYOUT_VERSION: Final = 1


class AccountError(ValueError):
    """A username or password that cannot be accepted; the message is shown to the user."""


def normalize_username(username: str) -> str:
    """The username in its stored form, or :class:`AccountError` saying what is wrong."""
    name = username.strip().lower()
    if not USERNAME_PATTERN.fullmatch(name):
        raise AccountError(
            "Usernames are 3 to 32 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


def check_password(password: str) -> str:
    """``password`` if its length is acceptable, else :class:`AccountError`."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Passwords need at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"Passwords are at most {MAX_PASSWORD} characters.")
    return password


def hash_password(password: str, *, n: int = _N, r: int = _R, p: int = _P) -> str:
    """A self-describing scrypt hash: ``scrypt$N$r$p$salt$key``, base64 parts."""
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, salt, n, r, p)
    return "$".join(("scrypt", str(n), str(r), str(p), _b64(salt), _b64(key)))


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``, compared in constant time."""
    try:
        kind, n, r, p, salt, key = encoded.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(key, validate=True)
        actual = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # surrogatepass: a form field may hold any code point; the hash must still be defined.
    secret = password.encode("utf-8", "surrogatepass")
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=_KEY_BYTES)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True)
class User:
    """An account: its username (the session user key) and when it was made (Unix time)."""

    username: str
    created_at: int


class UserStore:
    """Accounts in one SQLite table. Thread-safe; the connection opens on first use.

    :param path: a file path, or ``":memory:"`` for accounts that last as long as the
        process.
    :param n: scrypt's CPU and memory cost for new hashes (a power of two); ``r`` its block
        size and ``p`` its parallelism. Each hash records its own, so a change of cost
        still verifies older hashes.
    """

    def __init__(self, path: str, *, n: int = _N, r: int = _R, p: int = _P) -> None:
        if n < 2 or n & (n - 1) or r < 1 or p < 1:
            raise ValueError(
                f"scrypt needs n a power of two above 1, r and p >= 1; got {n}, {r}, {p}"
            )
        self.path = path
        self._cost = (n, r, p)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._dummy_hash: str | None = None

    def register(self, username: str, password: str) -> User:
        """Create an account.

        :raises AccountError: if the username or password is unacceptable or the
            username is taken.
        """
        name = normalize_username(username)
        n, r, p = self._cost
        encoded = hash_password(check_password(password), n=n, r=r, p=p)
        created = int(time.time())
        with self._lock:
            db = self._connect()
            try:
                with db:
                    db.execute(
                        "INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)",
                        (name, encoded, created),
                    )
            except sqlite3.IntegrityError:
                raise AccountError("That username is taken; choose another.") from None
        return User(name, created)

    def authenticate(self, username: str, password: str) -> User | None:
        """The account if the password is right, else None.

        An unknown username costs the same scrypt run as a wrong password, so timing does
        not tell which accounts exist.
        """
        try:
            name = normalize_username(username)
        except AccountError:
            name = None
        row = None
        with self._lock:
            db = self._connect()
            if name is not None:
                row = db.execute(
                    "SELECT password_hash, created_at FROM users WHERE username = ?", (name,)
                ).fetchone()
            if row is None and self._dummy_hash is None:
                n, r, p = self._cost
                self._dummy_hash = hash_password(secrets.token_urlsafe(16), n=n, r=r, p=p)
            dummy = self._dummy_hash
        if row is None or name is None:
            verify_password(password[:MAX_PASSWORD], dummy or "")
            return None
        if not verify_password(password[:MAX_PASSWORD], row[0]):
            return None
        return User(name, row[1])

    def close(self) -> None:
        """Close the connection; a later call opens it again."""
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                db.close()

    def _connect(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        db = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False)
        try:
            if self.path != ":memory:":
                db.execute("PRAGMA journal_mode=WAL")
            with db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:
                    db.execute(
                        "CREATE TABLE IF NOT EXISTS users ("
                        " username TEXT PRIMARY KEY,"
                        " password_hash TEXT NOT NULL,"
                        " created_at INTEGER NOT NULL)"
                    )
                    db.execute(f"PRAGMA user_version = {_LAYOUT_VERSION}")
                elif version != _LAYOUT_VERSION:
                    raise RuntimeError(
                        f"{self.path} holds demo users of layout {version}; this release "
                        f"reads layout {_LAYOUT_VERSION}: remove the file or use another"
                    )
        except BaseException:
            db.close()
            raise
        self._db = db
        return db
