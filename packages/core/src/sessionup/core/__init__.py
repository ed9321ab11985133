"""sessionup: server-side HTTP sessions for async Python.

The names a web app and a store author need are all importable from here.
"""

from __future__ import annotations

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
from .plugins import (
    StoreInfo,
    StoreSpec,
    available_stores,
    hookimpl,
    open_store,
    split_url_options,
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
    "MiddlewareMissingError",
    "NotOwnerError",
    "Session",
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
    "hookimpl",
    "open_store",
    "session_from_record",
    "session_to_record",
    "split_url_options",
]
