"""A sessionup store keeping sessions in one JSON file: ``open_store("jsonfile:///path.json")``."""

from __future__ import annotations

from .store import LAYOUT_VERSION, JSONFileStore

__all__ = ["LAYOUT_VERSION", "JSONFileStore"]
__version__ = "0.1.0"
