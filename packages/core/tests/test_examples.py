"""The example apps in ``examples/`` run and behave as their docstrings say."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import httpx

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_fastapi_example_signs_in_lists_revokes_and_signs_out() -> None:
    example = load("fastapi_app")
    transport = httpx.ASGITransport(app=example.app)
    laptop = httpx.AsyncClient(transport=transport, base_url="https://example.test")
    phone = httpx.AsyncClient(transport=transport, base_url="https://example.test")

    assert (await laptop.get("/sessions")).status_code == 401
    await laptop.post("/login", data={"email": "ada@example.test"})
    await phone.post("/login", data={"email": "ada@example.test"})
    listed = (await laptop.get("/sessions")).json()
    phone_id = next(s["id"] for s in listed if not s["current"])
    revoked = (await laptop.post(f"/sessions/{phone_id}/revoke")).json()
    logout = (await laptop.post("/logout")).json()

    assert len(listed) == 2
    assert revoked == {"revoked": True}
    assert (await phone.get("/sessions")).status_code == 401
    assert logout == {"revoked": True}
    assert (await laptop.get("/sessions")).status_code == 401
    await laptop.aclose()
    await phone.aclose()
