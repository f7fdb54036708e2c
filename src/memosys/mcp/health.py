"""``GET /healthz`` of the MCP server over HTTP: liveness without an API key, for a
load balancer's checks, as the REST API answers it (every other request needs a key)."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class Healthz:
    """Answer ``GET /healthz`` (and ``HEAD``) with ``{"status": "ok"}``; pass the rest on."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["path"] == "/healthz"
                and scope["method"] in ("GET", "HEAD")):
            await JSONResponse({"status": "ok"})(scope, receive, send)
            return
        await self._app(scope, receive, send)
