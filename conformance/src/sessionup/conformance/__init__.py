"""The sessionup store contract as a pytest plugin anyone can run against their store.

Two ways in:

- ``pytest --pyargs sessionup.conformance --sessionup-store URL`` runs the suite against
  ``open_store(URL)``; :func:`run` does the same from Python.
- Subclass :class:`StoreContractTests` in a test module and override the
  ``store_factory`` fixture, for a store that needs custom construction.
"""

from __future__ import annotations

from ._support import StoreFactory
from .contract import StoreContractTests
from .runner import run

__version__ = "0.1.0"

__all__ = ["StoreContractTests", "StoreFactory", "__version__", "run"]
