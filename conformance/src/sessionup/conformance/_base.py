"""The fixtures and settings every group of contract tests shares."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
import pytest_asyncio

from sessionup.core.store import Store, StoreTraits

from ._support import Names, StoreFactory


class ContractBase:
    """Fixtures of the suite. A store's tests override ``store_factory`` and nothing else.

    Classes of the suite are not collected themselves (``__test__ = False``); a subclass in
    a test module is collected as usual, unless it sets ``__test__`` itself.
    """

    __test__: ClassVar[bool] = False

    #: Seconds any one contract test may take before it fails as hung.
    test_timeout: ClassVar[float] = 60.0
    #: Seconds within which a store pointed at a dead backend must raise ``StoreError``.
    dead_store_timeout: ClassVar[float] = 20.0
    #: Sessions created at once by the concurrency tests.
    concurrency: ClassVar[int] = 300

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__test__" not in cls.__dict__:
            cls.__test__ = True

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        """Override: return a callable building a new, unopened store over shared data.

        Every call must return a fresh instance over the same backend data, so that what one
        instance wrote another can read (for persistent stores). The fixture owns that data
        and removes it in its teardown; the suite opens, uses and closes the instances.
        """
        pytest.fail(
            f"{type(self).__name__} must override the store_factory fixture: return a "
            "zero-argument callable that builds a new, unopened store",
            pytrace=False,
        )

    @pytest.fixture
    def dead_store_factory(self) -> StoreFactory | None:
        """Override, optionally: like ``store_factory``, pointed where no backend listens.

        None (the default) leaves out the tests of a dead backend.
        """
        return None

    @pytest.fixture
    def names(self) -> Names:
        """Unique user keys and ids for the running test."""
        return Names()

    @pytest_asyncio.fixture(loop_scope="function")
    async def store(self, store_factory: StoreFactory, names: Names) -> AsyncIterator[Store]:
        """An opened store from ``store_factory``; closed, its test's sessions removed, after."""
        store = store_factory()
        await store.open()
        try:
            yield store
        finally:
            # Best effort: a store under test may be broken or already closed, and the
            # fixture owning the backend data removes it anyway.
            with contextlib.suppress(Exception):
                for user_key in names.user_keys:
                    await store.delete_by_user_key(user_key)
            await store.close()

    @pytest.fixture
    def traits(self, store: Store) -> StoreTraits:
        """The facts the store declares about itself (defaults if it declares none)."""
        declared = getattr(store, "traits", None)
        return declared if isinstance(declared, StoreTraits) else StoreTraits()
