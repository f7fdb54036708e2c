"""``Server-Timing`` on every response: how long the server took, and where.

A client's latency includes its own queueing and the network; this header
says what of it the server spent (W3C Server Timing: browsers show it in
their developer tools). ``app`` is the time from the request reaching the app
to the response's headers (:class:`.metrics.MetricsMiddleware` times it and
adds the header). Routes add their parts with :func:`record`: a search says
``turn`` (waiting for a search turn) and ``search`` (in its worker thread:
authenticating and searching). Durations are milliseconds.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import Message, Scope

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


def add_header(message: Message, parts: list[tuple[str, float]]) -> None:
    """Put ``Server-Timing`` with these parts (seconds) on an ``http.response.start``."""
    MutableHeaders(scope=message).append(
        HEADER, ", ".join(f"{name};dur={seconds * 1000:.2f}" for name, seconds in parts)
    )
