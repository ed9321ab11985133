"""Every check of every package. ``python -m nox`` runs them all; ``-s NAME`` one of them.

Each package is tested in its own virtualenv with only what it declares, so a missing
dependency shows up here rather than on a user's machine.
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = False

# Every distribution in the repository, by the folder that holds its pyproject.toml.
PACKAGES = sorted(
    path.parent.relative_to(ROOT).as_posix()
    for pattern in ("packages/*/pyproject.toml", "conformance/pyproject.toml")
    for path in ROOT.glob(pattern)
)
STORES = [p for p in PACKAGES if p.startswith("packages/store-")]
CONFORMANCE = "conformance" if (ROOT / "conformance" / "pyproject.toml").exists() else None
EXAMPLE_STORE = ROOT / "examples" / "third-party-store"


def _editable(*folders: str, extra: str | None = None) -> list[str]:
    args: list[str] = []
    for folder in folders:
        spec = folder if extra is None or folder != folders[-1] else f"{folder}[{extra}]"
        args += ["-e", spec]
    return args


def _base() -> list[str]:
    """Core with its test extra, and the conformance plugin when it exists."""
    args = ["-e", "packages/core[test]"]
    if CONFORMANCE:
        args += ["-e", CONFORMANCE]
    return args


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and format check over the whole repository."""
    session.install("ruff>=0.8")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package's source, all installed side by side."""
    session.install("mypy>=1.13", *_base(), "-e", "packages/core[demo,test]")
    for folder in STORES:
        session.install("-e", f"{folder}[test]")
    sources = [f"{p}/src" for p in PACKAGES]
    session.run("mypy", *sources)


@nox.session
def core(session: nox.Session) -> None:
    """The core's tests and doctests, with no store driver installed."""
    session.install(*_base())
    session.run(
        "pytest", "packages/core/tests", "--ignore=packages/core/tests/cli", *session.posargs
    )
    # Doctests import modules by path: tell pytest that sessionup/ is a namespace package so
    # they get their real names (sessionup.core.plugins), not a second copy under another.
    session.run(
        "pytest",
        "-o",
        "consider_namespace_packages=true",
        "--doctest-modules",
        "packages/core/src/sessionup",
        "--ignore=packages/core/src/sessionup/core/demo",
    )


@nox.session
@nox.parametrize("store", [p.removeprefix("packages/") for p in STORES])
def stores(session: nox.Session, store: str) -> None:
    """One store's tests against its real server, the conformance suite among them."""
    session.install(*_base(), "-e", f"packages/{store}[test]")
    session.run("pytest", f"packages/{store}/tests", *session.posargs)


if CONFORMANCE:

    @nox.session
    def conformance(session: nox.Session) -> None:
        """The conformance plugin's own tests, and the example third-party store through it."""
        session.install(*_base(), "-e", "conformance[test]")
        session.run("pytest", "conformance/tests", *session.posargs)
        if EXAMPLE_STORE.exists():
            session.install("-e", str(EXAMPLE_STORE))
            session.run("pytest", str(EXAMPLE_STORE / "tests"), *session.posargs)


@nox.session
def cli(session: nox.Session) -> None:
    """The command line, the demo app and its browser test (Debian's Chromium, no download)."""
    session.install(
        "-e",
        "packages/core[demo,test]",
        "-e",
        "packages/store-sqlite",
        "-e",
        "conformance",
        "playwright",
    )
    session.run("pytest", "packages/core/tests/cli", *session.posargs)


@nox.session(default=False)
def demo(session: nox.Session) -> None:
    """Run the demo app on a SQLite file: ``python -m nox -s demo -- --port 8000``."""
    session.install("-e", "packages/core[demo]", "-e", "packages/store-sqlite")
    session.run("sessionup", "demo", *session.posargs)
