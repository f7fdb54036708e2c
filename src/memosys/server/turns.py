"""Searches wait for a turn in the event loop before they take a thread.

A search is CPU work from end to end: more of them at once than
``retrieval.concurrent_searches`` only share the cores and the interpreter
lock, and each waiting thread adds switching. So the search routes wait here,
holding no thread, until a turn is free; then they authenticate and search in
one worker thread. The other routes keep the default thread pool, so a write
waiting for the store's write lock never holds a search's turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import anyio
from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials

from memosys.server.auth import Caller, current_caller
from memosys.server.server_timing import record

T = TypeVar("T")


async def in_turn(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    work: Callable[[Caller], T],
) -> T:
    """``work(caller)`` in a worker thread once one of the app's search turns
    (``app.state.search_turns``) is free; ``Server-Timing`` says how long the wait
    (``turn``) and the work (``search``) took."""
    limiter: anyio.CapacityLimiter = request.app.state.search_turns
    asked = time.perf_counter()

    def run() -> T:
        started = time.perf_counter()
        try:
            return work(current_caller(request, credentials))
        finally:
            record(request, "turn", started - asked)
            record(request, "search", time.perf_counter() - started)

    return await anyio.to_thread.run_sync(run, limiter=limiter)
