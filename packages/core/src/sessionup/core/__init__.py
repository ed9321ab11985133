"""sessionup: server-side HTTP sessions for async Python.

The names a web app and a store author need are all importable from here.
"""

from __future__ import annotations

from .asgi import SessionMiddleware, default_reject, json_response
from .errors import (
    ConfigError,
    DuplicateIDError,
    InvalidMetaError,
    InvalidUserKeyError,
    MiddlewareMissingError,
    NotOwnerError,
    SessionupError,
    StoreClosedError,
    StoreConflictError,
    StoreError,
    StoreNotFoundError,
    StoreURLError,
    Unauthorized,
)
from .manager import Manager, RequestState, current_session
from .plugins import (
    StoreInfo,
    StoreSpec,
    available_stores,
    hookimpl,
    open_store,
    split_url_options,
    store_options,
)
from .session import Agent, Session, session_from_record, session_to_record
from .store import Store, StoreBase, StoreTraits, coerce_options

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "ConfigError",
    "DuplicateIDError",
    "InvalidMetaError",
    "InvalidUserKeyError",
    "Manager",
    "MiddlewareMissingError",
    "NotOwnerError",
    "RequestState",
    "Session",
    "SessionMiddleware",
    "SessionupError",
    "Store",
    "StoreBase",
    "StoreClosedError",
    "StoreConflictError",
    "StoreError",
    "StoreInfo",
    "StoreNotFoundError",
    "StoreSpec",
    "StoreTraits",
    "StoreURLError",
    "Unauthorized",
    "__version__",
    "available_stores",
    "coerce_options",
    "current_session",
    "default_reject",
    "hookimpl",
    "json_response",
    "open_store",
    "session_from_record",
    "session_to_record",
    "split_url_options",
    "store_options",
]
