"""Search: memories (hybrid, BM25 or dense) and whole sessions."""

from __future__ import annotations

from fastapi import APIRouter, Request

from memosys.server.auth import KeyDep
from memosys.server.json_bodies import JsonBodyRoute
from memosys.server.schemas import HitsOut, SearchIn, SessionSearchIn, SessionsOut
from memosys.server.turns import in_turn

router = APIRouter(prefix="/v1/search", tags=["search"], route_class=JsonBodyRoute)


@router.post("", response_model=HitsOut)
async def search(body: SearchIn, request: Request, key: KeyDep) -> HitsOut:
    """Memories ranked for the query; each hit says why in ``explain``."""
    hits = await in_turn(
        request, key, lambda caller: caller.run_body(caller.mos.search, body, "query")
    )
    return HitsOut(hits=hits)


@router.post("/sessions", response_model=SessionsOut)
async def search_sessions(body: SessionSearchIn, request: Request, key: KeyDep) -> SessionsOut:
    """Sessions ranked by the message hits they contain."""
    sessions = await in_turn(
        request, key, lambda caller: caller.run_body(caller.mos.search_sessions, body, "query")
    )
    return SessionsOut(sessions=sessions)
