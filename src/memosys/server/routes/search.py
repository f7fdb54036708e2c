"""Search: memories (hybrid, BM25 or dense) and whole sessions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from memosys.api.packed_vectors import sent
from memosys.server.auth import KeyDep
from memosys.server.json_bodies import JsonBodyRoute
from memosys.server.schemas import HitsOut, SearchIn, SessionSearchIn, SessionsOut
from memosys.server.turns import in_turn

router = APIRouter(prefix="/v1/search", tags=["search"], route_class=JsonBodyRoute)


@router.post("", response_model=HitsOut)
async def search(body: SearchIn, request: Request, key: KeyDep) -> HitsOut:
    """Memories ranked for the query; each hit says why in ``explain``."""
    hits = await in_turn(
        request, key,
        lambda caller: caller.run_values(caller.mos.search, _with_query_vector(body), "query"),
    )
    return HitsOut(hits=hits)


@router.post("/sessions", response_model=SessionsOut)
async def search_sessions(body: SessionSearchIn, request: Request, key: KeyDep) -> SessionsOut:
    """Sessions ranked by the message hits they contain."""
    sessions = await in_turn(
        request, key, lambda caller: caller.run_values(
            caller.mos.search_sessions, _with_query_vector(body), "query"),
    )
    return SessionsOut(sessions=sessions)


def _with_query_vector(body: SessionSearchIn) -> dict[str, Any]:
    """The body's fields as MemOS's arguments, a packed query vector unpacked."""
    values = body.model_dump(exclude={"query_vector_base64"})
    values["query_vector"] = sent(body.query_vector, body.query_vector_base64, 1,
                                  "query_vector_base64")
    return values
