"""The request size and time limits: a body over ``max_body_bytes`` gets 413, and one
that takes longer than ``timeout_s`` to arrive gets 408, before any parsing.

The body is read (at most one byte past the limit) and replayed to the app, so
the limit holds for chunked uploads without a ``Content-Length`` too.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memosys.core.errors import InputTooLargeError, RequestTimeoutError
from memosys.server.errors import error_response
from memosys.server.http_middleware import HttpMiddleware


def _too_large(limit: int) -> InputTooLargeError:
    return InputTooLargeError(
        f"request body is over the limit of {limit} bytes; send smaller batches, or raise "
        "the server's limit (its `--max-body-mb`, ServerSettings.max_body_bytes)",
        detail={"max_body_bytes": limit},
    )


def _too_slow(limit: float) -> RequestTimeoutError:
    return RequestTimeoutError(
        f"the request body did not arrive within {limit:g} s; send it faster or in smaller "
        "batches, or raise the server's limit (its `--body-timeout-s`)",
        detail={"body_timeout_s": limit},
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
    """Answer 413 ``InputTooLargeError`` to any request body over ``max_bytes``, and 408
    ``RequestTimeoutError`` to one that has not arrived within ``timeout_s``."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await error_response(_too_large(self.max_bytes))(scope, receive, send)
            return
        messages: list[Message] = []
        with anyio.move_on_after(self.timeout_s):
            messages = await self._read(receive)
        if not messages:
            await error_response(_too_slow(self.timeout_s))(scope, receive, send)
        elif messages[-1]["type"] != "http.request":  # the client went away
            await self.app(scope, _replay(messages[-1:]), send)
        elif sum(len(m.get("body", b"")) for m in messages) > self.max_bytes:
            await error_response(_too_large(self.max_bytes))(scope, receive, send)
        else:
            body = b"".join(m.get("body", b"") for m in messages)
            whole: Message = {"type": "http.request", "body": body, "more_body": False}
            await self.app(scope, _replay([whole], then=receive), send)

    async def _read(self, receive: Receive) -> list[Message]:
        """The body's messages, up to the last one, a disconnect, or one byte past the
        limit (an empty list if cancelled by the time limit)."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                return messages
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return messages


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
