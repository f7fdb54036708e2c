"""``Server-Timing`` on every response: how long the server took, and where.

A client's latency includes its own queueing and the network; this header
says what of it the server spent (W3C Server Timing: browsers show it in
their developer tools). ``app`` is the time from the request reaching the app
to the response's headers. Routes add their parts with :func:`record`: a
search says ``turn`` (waiting for a search turn) and ``search`` (in its worker
thread: authenticating and searching). Durations are milliseconds.
"""

from __future__ import annotations

import time

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "server-timing"
_PARTS = "server_timing"  # key in the request's state


def record(request: Request, name: str, seconds: float) -> None:
    """Add a part (``name``, a token) to this request's ``Server-Timing`` (and to the
    ``/metrics`` histogram of parts)."""
    request.scope.setdefault("state", {}).setdefault(_PARTS, []).append((name, seconds))


def recorded(scope: Scope) -> list[tuple[str, float]]:
    """The parts recorded so far for the request of this ASGI scope, in seconds."""
    parts: list[tuple[str, float]] = scope.get("state", {}).get(_PARTS, [])
    return parts


class ServerTimingMiddleware:
    """Put ``Server-Timing`` on every HTTP response: its parts, then ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                parts = [*recorded(scope), ("app", time.perf_counter() - started)]
                MutableHeaders(scope=message).append(
                    HEADER, ", ".join(f"{name};dur={seconds * 1000:.2f}" for name, seconds in parts)
                )
            await send(message)

        await self.app(scope, receive, send_with_timing)
