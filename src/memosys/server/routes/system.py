"""Health, metrics and store statistics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from memosys.server.auth import CallerDep
from memosys.server.errors import error_responses
from memosys.server.metrics import CONTENT_TYPE, Metrics
from memosys.server.schemas import HealthOut, ReadyOut, UserQuery

router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=HealthOut)
def healthz() -> HealthOut:
    """Liveness (no auth)."""
    return HealthOut()


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
def readyz(request: Request, response: Response) -> ReadyOut:
    """Readiness (no auth): 503 while this process warms up (``serve --warm``), so a load
    balancer can hold traffic until its first searches need not load anything, and
    while it drains before a stop (``serve --drain-s``)."""
    if getattr(request.app.state, "draining", False):
        response.status_code = 503
        return ReadyOut(status="draining")
    warming = request.app.state.warming
    if warming is not None and warming.is_alive():
        response.status_code = 503
        return ReadyOut(status="warming")
    return ReadyOut(status="ready")


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {CONTENT_TYPE.split(";")[0]: {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> PlainTextResponse:
    """Request counts and latencies in the Prometheus text format (no auth)."""
    registry: Metrics = request.app.state.metrics
    return PlainTextResponse(registry.render(), media_type=CONTENT_TYPE)


@router.get("/v1/stats", response_model=dict[str, int], responses=error_responses())
def stats(caller: CallerDep, user_id: UserQuery = None) -> dict[str, int]:
    """For an admin key: counts of users, cubes, items and vectors, and the database size.
    Otherwise (or with ``user_id``): counts of the cubes the user owns or shares, and of
    their items and vectors."""
    return caller.run(caller.mos.stats, user_id=caller.user_or_all(user_id))
