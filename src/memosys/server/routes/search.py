"""Search: memories (hybrid, BM25 or dense) and whole sessions."""

from __future__ import annotations

from fastapi import APIRouter

from memosys.server.auth import CallerDep
from memosys.server.schemas import HitsOut, SearchIn, SessionSearchIn, SessionsOut

router = APIRouter(prefix="/v1/search", tags=["search"])


@router.post("", response_model=HitsOut)
def search(body: SearchIn, caller: CallerDep) -> HitsOut:
    """Memories ranked for the query; each hit says why in ``explain``."""
    hits = caller.run(
        caller.mos.search,
        body.query,
        user_id=caller.user(body.user_id),
        cube=body.cube,
        top_k=body.top_k,
        filters=body.filters,
        mode=body.mode,
        fusion=body.fusion,
        recency_weight=body.recency_weight,
        importance_weight=body.importance_weight,
        mmr=body.mmr,
        neighbours=body.neighbours,
    )
    return HitsOut(hits=hits)


@router.post("/sessions", response_model=SessionsOut)
def search_sessions(body: SessionSearchIn, caller: CallerDep) -> SessionsOut:
    """Sessions ranked by the message hits they contain."""
    sessions = caller.run(
        caller.mos.search_sessions,
        body.query,
        user_id=caller.user(body.user_id),
        cube=body.cube,
        top_k=body.top_k,
        filters=body.filters,
        mode=body.mode,
    )
    return SessionsOut(sessions=sessions)
