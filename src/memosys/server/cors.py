"""Calls from browser apps on other origins: ``memosys serve --cors-origin ORIGIN``.

Only the origins named are let in (``*``, every origin, only if named, and then
without credentials). A preflight is answered before any other middleware sees
it, so it needs no API key and never counts as a failed sign-in; the answers of
the middlewares inside (401 of a large body, 413, 500) carry the CORS headers,
so that the browser app can read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from memosys.core.errors import ConfigurationError

if TYPE_CHECKING:
    from fastapi import FastAPI

METHODS = ("GET", "POST", "PATCH", "DELETE")  # those of the API's routes
# with the W3C trace context headers that browser tracing libraries add to every call
HEADERS = ("Authorization", "Content-Type", "X-Request-ID", "traceparent", "tracestate")
EXPOSED = ("X-Request-ID", "Server-Timing", "Retry-After")  # Retry-After: on a 429
_DEFAULT_PORTS = {"http": 80, "https": 443}


def checked_origins(origins: Iterable[str]) -> list[str]:
    """The origins, lower-cased; ConfigurationError naming the fix for one that is not
    ``scheme://host[:port]`` as a browser sends it, or ``*`` given with others."""
    checked = [_checked(origin) for origin in origins]
    if "*" in checked and len(checked) > 1:
        raise ConfigurationError("--cors-origin '*' lets every origin in: give it alone, or "
                                 "name the origins without it")
    return checked


def _checked(origin: str) -> str:
    if origin == "*":
        return origin
    problem = None
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError as exc:
        problem = str(exc)
    else:
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            problem = "it needs http:// or https:// and a host"
        elif parts.path or parts.query or parts.fragment or "@" in parts.netloc:
            problem = "an origin has no path, query or user, not even a trailing /"
        elif port == _DEFAULT_PORTS[parts.scheme]:
            problem = f"browsers leave the default port :{port} out: drop it"
    if problem is not None:
        raise ConfigurationError(
            f"--cors-origin {origin!r} is not an origin ({problem}); give scheme://host[:port], "
            "e.g. https://app.example.com or http://localhost:3000", detail={"origin": origin},
        )
    return origin.lower()


def add_cors(app: FastAPI, origins: list[str]) -> None:
    """Let browser apps on ``origins`` call ``app`` (nothing without origins); add it
    outside the middlewares whose answers it must mark."""
    if not origins:
        return
    from starlette.middleware.cors import CORSMiddleware

    app.add_middleware(
        CORSMiddleware, allow_origins=origins, allow_credentials="*" not in origins,
        allow_methods=METHODS, allow_headers=HEADERS, expose_headers=EXPOSED,
    )
