"""The sessionup demo: accounts, sign-in, and a page listing and ending a user's sessions.

Run it with ``sessionup demo`` (install ``sessionup[demo]`` first). It is a Starlette app
served by uvicorn, with sessions in a SQLite file by default and accounts in a second
SQLite file beside it. Importing this package needs Starlette; the core never imports it.
"""

from __future__ import annotations

import ipaddress
import sys
from typing import Final

from .app import create_app, users_path_for
from .users import UserStore

__all__ = ["DEFAULT_STORE_URL", "UserStore", "create_app", "is_loopback", "run", "users_path_for"]

#: Where the demo keeps its sessions unless told otherwise: a file in the current directory.
DEFAULT_STORE_URL: Final = "sqlite:///sessionup-demo.db"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address, where browsers accept
    ``Secure`` cookies over plain HTTP.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def run(store_url: str = DEFAULT_STORE_URL, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the demo with uvicorn until interrupted.

    On a host other than localhost the cookie loses its ``Secure`` flag, since the demo
    speaks plain HTTP and browsers drop ``Secure`` cookies from plain-HTTP sites; a warning
    says so.
    """
    import uvicorn

    secure = is_loopback(host)
    if not secure:
        print(
            f"warning: serving plain HTTP on {host}: the session cookie is sent without "
            "Secure, so browsers on other machines keep it; do not use this beyond a demo",
            file=sys.stderr,
        )
    app = create_app(store_url, secure=secure)
    shown = f"[{host}]" if ":" in host else host
    print(
        f"sessionup demo on http://{shown}:{port}/  "
        f"(sessions: {store_url}, accounts: {users_path_for(store_url)}; Ctrl-C stops)",
        file=sys.stderr,
    )
    # proxy_headers off: the client address is the TCP peer, as the manager is configured
    # with no trusted proxies.
    uvicorn.run(app, host=host, port=port, proxy_headers=False, server_header=False)
