"""How a session is laid out as a MongoDB document, and read back.

One document per session, keyed by the session id::

    {
      "_id": "<session id>",
      "v": 1,                       # LAYOUT_VERSION
      "user_key": "<user key>",     # indexed
      "created_at": ISODate(...),   # BSON date, milliseconds, UTC
      "expires_at": ISODate(...),   # BSON date, milliseconds, UTC; the TTL index
      "created_us": 1733...,        # the exact instants, in microseconds since the epoch
      "expires_us": 1733...,
      "ip": "203.0.113.7" | null,
      "os": "Linux" | null,
      "browser": "Firefox" | null,
      "meta": [["key", "value"], ...]
    }

BSON dates hold milliseconds. They serve the TTL index and anyone reading the collection
by hand; the integer fields hold the exact instants, so a session reads back equal to the
one written, and every expiry comparison the store makes is exact. Meta is a list of pairs
rather than a subdocument because its keys are user data: a key such as ``$ne`` or
``a.b`` is awkward as a MongoDB field name and harmless as a string value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sessionup.core.session import (
    RECORD_VERSION,
    Session,
    datetime_to_micros,
    session_from_record,
)

#: Version of the document layout above, recorded per document and per collection.
LAYOUT_VERSION: Final = 1


def session_to_document(session: Session) -> dict[str, Any]:
    """The document stored for ``session`` (its ``current`` flag is never stored)."""
    return {
        "_id": session.id,
        "v": LAYOUT_VERSION,
        "user_key": session.user_key,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "created_us": datetime_to_micros(session.created_at),
        "expires_us": datetime_to_micros(session.expires_at),
        "ip": None if session.ip is None else str(session.ip),
        "os": session.agent.os,
        "browser": session.agent.browser,
        "meta": [[key, value] for key, value in session.meta.items()],
    }


def instant(value: object) -> int | None:
    """A stored microsecond count as a plain int (BSON int64 decodes as ``Int64``), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return None


def session_from_document(document: Mapping[str, Any]) -> Session:
    """Rebuild a session from :func:`session_to_document`'s output.

    :raises ValueError: if the document is of another layout version, or a field is
        missing or of the wrong type; callers treat such a document as no session.
    """
    if document.get("v") != LAYOUT_VERSION:
        raise ValueError(f"unknown session document layout {document.get('v')!r}")
    pairs = document.get("meta")
    if not isinstance(pairs, list) or not all(
        isinstance(pair, list) and len(pair) == 2 for pair in pairs
    ):
        raise ValueError("session document meta must be a list of [key, value] pairs")
    record = {
        "v": RECORD_VERSION,
        "id": document.get("_id"),
        "user_key": document.get("user_key"),
        "created_at": instant(document.get("created_us")),
        "expires_at": instant(document.get("expires_us")),
        "ip": document.get("ip"),
        "os": document.get("os"),
        "browser": document.get("browser"),
        "meta": dict(pairs),
    }
    return session_from_record(record)
