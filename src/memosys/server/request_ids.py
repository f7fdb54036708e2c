"""Request ids: taken from ``X-Request-ID`` (if sane) or made up, echoed on the response.

The id is kept in ``request.state.request_id`` so that handlers and the audit
log can name the request that made a change, and in :data:`CURRENT` so that the
access log line of the request names it too.
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from memosys.core.ids import new_id
from memosys.server.http_middleware import HttpMiddleware

HEADER = "x-request-id"
MAX_ID_CHARS = 128
CURRENT: ContextVar[str | None] = ContextVar("memosys_request_id", default=None)
"""The id of the request this task serves (for the access log, see :mod:`.access_log`)."""


def _given_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == HEADER.encode():
            text: str = value.decode("latin-1")
            if 0 < len(text) <= MAX_ID_CHARS and text.isprintable() and text.isascii():
                return text
    return None


class RequestIdMiddleware(HttpMiddleware):
    """Give every HTTP request an id and return it in ``X-Request-ID``."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = _given_id(scope) or new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        CURRENT.set(request_id)  # uvicorn logs the request from this task: it sees the id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)
