"""The store contract as one test class to subclass."""

from __future__ import annotations

from ._concurrency import ConcurrencyContract
from ._deletes import DeleteContract
from ._expiry import ExpiryContract
from ._isolation import IsolationContract
from ._lifecycle import LifecycleContract
from ._roundtrip import RoundTripContract
from ._writes import WriteContract

__all__ = ["StoreContractTests"]


# pytest lists the tests of the last base first: this order reads from round trips on.
class StoreContractTests(
    LifecycleContract,
    ConcurrencyContract,
    IsolationContract,
    WriteContract,
    DeleteContract,
    ExpiryContract,
    RoundTripContract,
):
    """Every test of the store contract. Subclass it in a test module and override fixtures.

    Required: ``store_factory``, returning a zero-argument callable that builds a new,
    unopened store over the same backend data on every call; the fixture removes that data
    in its teardown. Optional: ``dead_store_factory``, the same pointed where no backend
    listens; without it the two dead-backend tests are not collected.

    The suite opens, uses and closes the stores itself, and adapts to ``store.traits``:
    datetimes are compared at ``expiry_precision``, the reopen tests check that data
    survives when ``persistent`` and that a new instance starts empty when not, and with
    ``native_ttl`` ``delete_expired`` may report fewer removals than there were expired
    sessions (reads must still never return them). Nothing is skipped.

    Every test is marked for pytest-asyncio explicitly, so the class runs the same in strict
    and auto mode. Settings a subclass may change: ``test_timeout``, ``dead_store_timeout``
    (seconds) and ``concurrency`` (sessions created at once).

    The fixtures ``store`` (an opened instance, closed after the test), ``traits`` and
    ``names`` (unique user keys and ids) are available to a subclass's own tests.
    """

    __test__ = False
