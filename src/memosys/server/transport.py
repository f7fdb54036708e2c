"""A synchronous httpx transport that drives an ASGI app in process, without a socket.

``httpx.ASGITransport`` works only with the async client; this one runs the
app on an event loop in a helper thread, so a plain ``httpx.Client`` (and so
:class:`~memosys.api.remote.RemoteMemOS`) can talk to an app directly::

    RemoteMemOS("http://memosys", api_key=key, transport=InProcessTransport(app))
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal


class InProcessTransport(httpx.BaseTransport):
    """Send each request to ``app`` and return its full response."""

    def __init__(self, app: Any, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._inner = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=client)
        self._portal_cm: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        return self._portal.call(self._send, request, body)

    async def _send(self, request: httpx.Request, body: bytes) -> httpx.Response:
        replay = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        response = await self._inner.handle_async_request(replay)
        content = await response.aread()
        await response.aclose()
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )

    def close(self) -> None:
        self._portal_cm.__exit__(None, None, None)
