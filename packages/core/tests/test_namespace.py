"""``sessionup`` and ``sessionup.stores`` are PEP 420 namespaces shared by several
distributions: installed editable side by side, each contributes its part."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def test_no_distribution_puts_an_init_at_a_namespace_level() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for src in REPO.glob("**/src/sessionup")
        if ".nox" not in src.parts and ".venv" not in src.parts
        for path in (src / "__init__.py", src / "stores" / "__init__.py")
        if path.exists()
    ]

    assert offenders == []


def test_two_distributions_installed_editable_import_side_by_side(tmp_path: Path) -> None:
    second = REPO / "packages" / "store-sqlite"
    if not (second / "pyproject.toml").exists():
        pytest.fail("packages/store-sqlite is missing: the second distribution of this test")
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    uv = shutil.which("uv")
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    env.pop("PYTHONPATH", None)
    if uv:
        subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True, env=env)
        install = [uv, "pip", "install", "-q", "-p", str(python)]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run(
        [*install, "-e", str(REPO / "packages" / "core"), "-e", str(second)],
        check=True,
        env=env,
        timeout=540,
    )

    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import json, sessionup, sessionup.stores, sessionup.core, sessionup.stores.memory,"
            " sessionup.stores.sqlite as s;"
            "from sessionup.core import available_stores;"
            "print(json.dumps({'paths': [str(p) for p in sessionup.__path__],"
            " 'sqlite': s.__file__, 'schemes': [i.scheme for i in available_stores()]}))",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )

    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert len(found["paths"]) == 2, f"sessionup should span two source trees: {found['paths']}"
    assert found["sqlite"].startswith(str(second / "src")), "not the editable source tree"
    assert {"memory", "sqlite"} <= set(found["schemes"])


def test_every_module_ships_a_py_typed_marker_mypy_will_find() -> None:
    # mypy looks for py.typed in the folder of an installed module or one above it, stopping
    # below the namespace root: a module directly in sessionup/stores/ needs one there.
    unmarked = []
    for src in REPO.glob("*/**/src/sessionup"):
        if ".nox" in src.parts or ".venv" in src.parts:
            continue
        for module in src.rglob("*.py"):
            folders = [p for p in module.parents if p != src and src in p.parents]
            if not any((folder / "py.typed").exists() for folder in folders):
                unmarked.append(str(module.relative_to(REPO)))

    assert unmarked == []
