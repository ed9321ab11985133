"""Running the suite from Python, as ``sessionup conformance URL`` does."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest

from .plugin import PACKAGE, SUITE_DIR


def run(url: str, pytest_args: Sequence[str] = ()) -> int:
    """Run the conformance suite against ``open_store(url)`` in this process.

    The run ignores the configuration of the current directory's project (it reads no
    ``pytest.ini`` or ``pyproject.toml``) and writes no cache, so it behaves the same
    wherever it is started. ``pytest_args`` are appended to pytest's command line, for
    example ``["-x", "-k", "touch"]`` or ``["--sessionup-dead-store", DEAD_URL]``.

    :returns: pytest's exit code: 0 when every test passed, 1 when some failed, 4 for a
        usage error such as an unknown scheme.
    """
    args = [
        "-c",
        os.devnull,
        "--rootdir",
        str(SUITE_DIR),
        "-p",
        "no:cacheprovider",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        # The suite is imported before pytest starts here, so pytest cannot rewrite its
        # asserts; they carry their own messages, and the warning would only be noise.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        # Entry points are not loaded then: name the two plugins the suite needs.
        args += ["-p", "pytest_asyncio.plugin", "-p", f"{PACKAGE}.plugin"]
    args += ["--pyargs", PACKAGE, "--sessionup-store", url, *pytest_args]
    return int(pytest.main(args))
