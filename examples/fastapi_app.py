"""sessionup with FastAPI: a dependency that yields the session or answers 401.

Run it with ``uvicorn examples.fastapi_app:app`` (``pip install "sessionup[sqlite]" fastapi
uvicorn``); the store URL comes from ``SESSIONUP_STORE_URL`` (default: memory).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request

from sessionup.core import Manager, NotOwnerError, Session, current_session, open_store

manager = Manager(
    open_store(os.environ.get("SESSIONUP_STORE_URL", "memory://")),
    expires_in=timedelta(days=14),
    idle_timeout=timedelta(hours=2),
)
api = FastAPI(title="sessionup example")


def signed_in(request: Request) -> Session:
    """The request's session, or 401: use it as ``Depends(signed_in)``."""
    session = current_session(request)
    if session is None:
        raise HTTPException(status_code=401, detail="sign in first")
    return session


SignedIn = Annotated[Session, Depends(signed_in)]


@api.post("/login")
async def login(request: Request, email: Annotated[str, Form()]) -> dict[str, str]:
    # A real app checks a password here.
    session = await manager.init(request, email)
    return {"user": session.user_key}


@api.get("/sessions")
async def sessions(request: Request, session: SignedIn) -> list[dict[str, Any]]:
    return [
        {
            "id": s.id,
            "ip": None if s.ip is None else str(s.ip),
            "os": s.agent.os,
            "browser": s.agent.browser,
            "current": s.current,
            "expires_at": s.expires_at.isoformat(),
        }
        for s in await manager.fetch_all(request)
    ]


@api.post("/sessions/{session_id}/revoke")
async def revoke_one(request: Request, session: SignedIn, session_id: str) -> dict[str, bool]:
    try:
        return {"revoked": await manager.revoke_by_id_ext(request, session_id)}
    except NotOwnerError:
        raise HTTPException(status_code=404, detail="no such session") from None


@api.post("/logout")
async def logout(request: Request) -> dict[str, bool]:
    return {"revoked": await manager.revoke(request)}


# The wrapper goes outside FastAPI, so every route (and the lifespan) sees it.
app = manager.public(api)
