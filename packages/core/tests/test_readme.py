"""The README's example runs as written, and does what the README says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python example"
    return blocks[0]


async def test_readme_example_logs_in_lists_and_logs_out_everywhere() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(readme_example(), str(README), "exec"), namespace)
    app = namespace["app"]
    transport = httpx.ASGITransport(app=app)
    phone = httpx.AsyncClient(transport=transport, base_url="https://example.test")
    laptop = httpx.AsyncClient(transport=transport, base_url="https://example.test")

    anonymous = await phone.get("/account/sessions")
    await phone.post("/login", data={"email": "ada@example.test"})
    await laptop.post("/login", data={"email": "ada@example.test"})
    listed = (await phone.get("/account/sessions")).json()
    await laptop.post("/logout-everywhere")
    after = await phone.get("/account/sessions")

    assert anonymous.status_code == 401
    assert len(listed) == 2 and sum(s["current"] for s in listed) == 1
    assert after.status_code == 401
    await phone.aclose()
    await laptop.aclose()
