"""Key names: how session ids and user keys become Redis keys under a prefix."""

from __future__ import annotations

from typing import Final

#: Version of the data layout this release reads and writes, kept under ``<prefix>layout``.
LAYOUT_VERSION: Final = 1

# Braces are the only bytes Redis Cluster reads inside a key (hash tags); '%' is escaped so
# the mapping stays reversible. Glob characters need nothing: no command here takes a pattern.
_ESCAPES: Final = str.maketrans({"%": "%25", "{": "%7B", "}": "%7D"})


def escape(text: str) -> bytes:
    """``text`` as key bytes, with ``%``, ``{`` and ``}`` percent-escaped.

    Lone surrogates survive (``surrogatepass``): any Python string is a valid id.
    """
    return text.translate(_ESCAPES).encode("utf-8", "surrogatepass")


class KeyLayout:
    """The three kinds of key a store writes, all starting with ``prefix``.

    - ``<prefix>s:<id>``: the session record, a JSON string whose TTL is its expiry;
    - ``<prefix>u:<user key>``: the user's index, a sorted set of ids scored by expiry in
      milliseconds;
    - ``<prefix>layout``: the layout version.

    Ids and user keys are escaped by :func:`escape`, so no data can open a hash tag. The
    prefix is used as given: any braces in it decide the slot, as Redis Cluster defines.
    """

    __slots__ = ("_index", "_record", "layout")

    def __init__(self, prefix: str) -> None:
        raw = prefix.encode("utf-8", "surrogatepass")
        self._record = raw + b"s:"
        self._index = raw + b"u:"
        self.layout = raw + b"layout"

    def record(self, session_id: str) -> bytes:
        """The key of the session record with this id."""
        return self._record + escape(session_id)

    def index(self, user_key: str) -> bytes:
        """The key of the user's index of session ids."""
        return self._index + escape(user_key)
