"""The pytest plugin: inert unless the suite is named, then run against ``--sessionup-store``.

Installed, it only adds two command-line options. The suite is collected when pytest is
pointed at this package (``--pyargs sessionup.conformance``, or its folder), and never while
a project collects its own tests, whatever it has installed.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Final
from urllib.parse import urlsplit

import pytest

from sessionup.core.errors import SessionupError
from sessionup.core.plugins import open_store

#: The environment variable that gives ``--sessionup-store`` its default.
STORE_URL_ENV: Final = "SESSIONUP_STORE_URL"

PACKAGE: Final = "sessionup.conformance"
SUITE_DIR: Final = Path(__file__).resolve().parent
SUITE_MODULE: Final = SUITE_DIR / "url_suite.py"

_REQUESTED: Final = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--sessionup-store`` and ``--sessionup-dead-store``."""
    group = parser.getgroup("sessionup", "sessionup store conformance")
    group.addoption(
        "--sessionup-store",
        metavar="URL",
        default=None,
        help=(
            "store URL for the sessionup conformance suite, collected with "
            f"--pyargs {PACKAGE} (default: ${STORE_URL_ENV})"
        ),
    )
    group.addoption(
        "--sessionup-dead-store",
        metavar="URL",
        default=None,
        help="a URL of the same store whose backend is down, to test failures in bounded time",
    )


def store_url(config: pytest.Config) -> str | None:
    """The URL the suite runs against: ``--sessionup-store``, else ``$SESSIONUP_STORE_URL``."""
    url: str | None = config.getoption("sessionup_store") or os.environ.get(STORE_URL_ENV)
    return url or None


def dead_store_url(config: pytest.Config) -> str | None:
    """The URL given with ``--sessionup-dead-store``, if any."""
    url: str | None = config.getoption("sessionup_dead_store")
    return url or None


def pytest_configure(config: pytest.Config) -> None:
    """Note whether the suite was asked for and, if so, check its URLs before collection."""
    requested = _suite_requested(config)
    config.stash[_REQUESTED] = requested
    if not requested:
        return
    url = store_url(config)
    if url is None:
        raise pytest.UsageError(
            f"the sessionup conformance suite needs a store: pass --sessionup-store URL "
            f"or set {STORE_URL_ENV}"
        )
    for option, value in (
        ("--sessionup-store", url),
        ("--sessionup-dead-store", dead_store_url(config)),
    ):
        if value is None:
            continue
        try:
            open_store(value)
        except (SessionupError, ValueError) as exc:
            raise pytest.UsageError(f"{option} {redacted(value)}: {exc}") from exc
        except Exception as exc:
            raise pytest.UsageError(
                f"{option} {redacted(value)}: building the store raised {type(exc).__name__}: {exc}"
            ) from exc


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the dead-backend tests of classes that have no dead backend to offer.

    They are deselected, not skipped: a store without an address that can be down has
    nothing for them to check, and a skip would read as a test that could not run.
    """
    from ._base import ContractBase
    from ._lifecycle import DEAD_BACKEND_TESTS

    kept, dropped = [], []
    for item in items:
        cls = getattr(item, "cls", None)
        name = getattr(item, "originalname", item.name)
        if (
            cls is not None
            and issubclass(cls, ContractBase)
            and name in DEAD_BACKEND_TESTS
            and not _offers_dead_store(cls, config)
        ):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _offers_dead_store(cls: type, config: pytest.Config) -> bool:
    if cls.__module__ == f"{PACKAGE}.url_suite":
        return dead_store_url(config) is not None
    from ._base import ContractBase

    return any(
        "dead_store_factory" in vars(klass)
        for klass in cls.__mro__
        if klass is not ContractBase and issubclass(klass, ContractBase)
    )


@pytest.hookimpl(tryfirst=True)
def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Keep the suite out of every collection that did not name it."""
    if not _in_suite(collection_path):
        return None
    return None if config.stash.get(_REQUESTED, False) else True


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect the suite's folder as a plain folder, so its ``__init__`` is never imported
    a second time under another name."""
    if not _is(path, SUITE_DIR):
        return None
    return pytest.Dir.from_parent(parent, path=path)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Collect the suite's module whatever the project's ``python_files`` patterns say."""
    if not _is(file_path, SUITE_MODULE) or _python_collects(file_path, parent):
        return None
    module: pytest.Module = SuiteModule.from_parent(parent, path=file_path)
    return module


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(
    module_path: Path, parent: pytest.Collector
) -> pytest.Module | None:
    """Import the suite's module by its package name when pytest's own collection meets it."""
    if not _is(module_path, SUITE_MODULE):
        return None
    module: pytest.Module = SuiteModule.from_parent(parent, path=module_path)
    return module


class SuiteModule(pytest.Module):
    """The URL-driven suite, imported as ``sessionup.conformance.url_suite``.

    pytest would otherwise import it by file path under a made-up name, outside the
    ``sessionup`` namespace package it belongs to.
    """

    def _getobj(self) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.url_suite")


def redacted(url: str) -> str:
    """``url`` with any password replaced, fit for a message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _suite_requested(config: pytest.Config) -> bool:
    """Whether a command-line argument names this package or a path inside it."""
    pyargs = bool(config.getoption("pyargs", False))
    for arg in config.args:
        target = str(arg).split("::", 1)[0]
        if pyargs and (target == PACKAGE or target.startswith(f"{PACKAGE}.")):
            return True
        path = Path(config.invocation_params.dir, target)
        if path.exists() and _in_suite(path):
            return True
    return False


def _in_suite(path: Path) -> bool:
    if SUITE_DIR.name not in path.parts:
        return False
    resolved = path.resolve()
    return resolved == SUITE_DIR or SUITE_DIR in resolved.parents


def _is(path: Path, target: Path) -> bool:
    return path.name == target.name and path.resolve() == target


def _python_collects(path: Path, parent: pytest.Collector) -> bool:
    """Whether pytest's python plugin collects ``path`` itself (then via makemodule)."""
    if parent.session.isinitpath(path):
        return True
    for pattern in parent.config.getini("python_files"):
        target = path.name if os.sep not in pattern else str(path)
        if fnmatch.fnmatch(target, pattern if os.sep not in pattern else f"*{os.sep}{pattern}"):
            return True
    return False
