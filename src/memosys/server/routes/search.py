"""Search: memories (hybrid, BM25 or dense) and whole sessions."""

from __future__ import annotations

from fastapi import APIRouter

from memosys.server.auth import CallerDep
from memosys.server.schemas import HitsOut, SearchIn, SessionSearchIn, SessionsOut

router = APIRouter(prefix="/v1/search", tags=["search"])


@router.post("", response_model=HitsOut)
def search(body: SearchIn, caller: CallerDep) -> HitsOut:
    """Memories ranked for the query; each hit says why in ``explain``."""
    return HitsOut(hits=caller.run_body(caller.mos.search, body, "query"))


@router.post("/sessions", response_model=SessionsOut)
def search_sessions(body: SessionSearchIn, caller: CallerDep) -> SessionsOut:
    """Sessions ranked by the message hits they contain."""
    return SessionsOut(sessions=caller.run_body(caller.mos.search_sessions, body, "query"))
