"""The request size limit: a body over ``max_body_bytes`` gets 413 before any parsing.

The body is read (at most one byte past the limit) and replayed to the app, so
the limit holds for chunked uploads without a ``Content-Length`` too.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memosys.core.errors import InputTooLargeError
from memosys.server.errors import error_response
from memosys.server.http_middleware import HttpMiddleware


def _too_large(limit: int) -> InputTooLargeError:
    return InputTooLargeError(
        f"request body is over the limit of {limit} bytes; send smaller batches, or raise "
        "the server's limit (`memosys serve --max-body-mb`, ServerSettings.max_body_bytes)",
        detail={"max_body_bytes": limit},
    )


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``, or None (absent, e.g. chunked, or not a number)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware(HttpMiddleware):
    """Answer 413 ``InputTooLargeError`` to any request body over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await error_response(_too_large(self.max_bytes))(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await error_response(_too_large(self.max_bytes))(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], then=receive), send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    """A ``receive`` that returns ``messages`` first, then waits on ``then``."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive
