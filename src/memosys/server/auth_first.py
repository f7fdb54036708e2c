"""Large request bodies are read only once their API key is accepted.

The size limit (:mod:`.limits`) reads a body whole before the app parses it,
so a client with no valid key could make the server hold ``max_body_bytes``
for each connection it opens. A ``/v1`` request whose body is over
:data:`EARLY_AUTH_BYTES`, or of unknown length (chunked), is authenticated
from its headers first: a refusal is answered before a byte of the body is
read, and the principal found is handed to
:func:`~memosys.server.auth.current_caller`. Smaller bodies, a search's among
them, are authenticated there, in the thread that serves them.
"""

from __future__ import annotations

from functools import partial

import anyio
from starlette.types import Receive, Scope, Send

from memosys.core.errors import MemosysError
from memosys.server.auth import EARLY_PRINCIPAL, authenticate
from memosys.server.errors import error_headers, error_response
from memosys.server.http_middleware import HttpMiddleware
from memosys.server.limits import declared_length

EARLY_AUTH_BYTES = 64 * 1024


def _large_body(scope: Scope) -> bool:
    declared = declared_length(scope)
    if declared is not None:
        return declared > EARLY_AUTH_BYTES
    return any(name == b"transfer-encoding" for name, _ in scope.get("headers", ()))


def _header(scope: Scope, wanted: bytes) -> str:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return bytes(value).decode("latin-1")
    return ""


class AuthenticateFirstMiddleware(HttpMiddleware):
    """Authenticate a ``/v1`` request with a large body before its body is read."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"].startswith("/v1/") and _large_body(scope):
            client = scope["client"][0] if scope.get("client") else "unknown"
            check = partial(authenticate, scope["app"].state.mos,
                            _header(scope, b"authorization"), client)
            try:
                principal = await anyio.to_thread.run_sync(check)
            except MemosysError as error:
                await error_response(error, error_headers(error))(scope, receive, send)
                return
            scope.setdefault("state", {})[EARLY_PRINCIPAL] = principal
        await self.app(scope, receive, send)
