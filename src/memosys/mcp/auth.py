"""API keys for the MCP server over streamable HTTP.

:class:`ApiKeyGate` sits in front of the SDK's app: every HTTP request must
send ``Authorization: Bearer <key>`` with a key of the REST API, checked by
:meth:`MemOS.authenticate <memosys.api.local.MemOS.authenticate>` (so failed
attempts share the REST API's rate limit). A refused request gets the REST
API's JSON error; an accepted one carries its principal in the ASGI scope's
``state``, where the tools find it (:func:`request_principal`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from memosys.core.errors import AuthenticationError, MemosysError
from memosys.server.errors import error_headers, error_response

if TYPE_CHECKING:
    from memosys.api.local import MemOS
    from memosys.governance.models import Principal

PRINCIPAL = "memosys_principal"  # the key of the principal in the scope's state


class ApiKeyGate:
    """Let through only HTTP requests with a valid API key, recording who sent them."""

    def __init__(self, app: ASGIApp, mos: MemOS) -> None:
        self._app = app
        self._mos = mos

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan events
            await self._app(scope, receive, send)
            return
        try:
            principal = await anyio.to_thread.run_sync(self._authenticate, scope)
        except MemosysError as exc:
            await error_response(exc, error_headers(exc))(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL] = principal
        await self._app(scope, receive, send)

    def _authenticate(self, scope: Scope) -> Principal:
        scheme, _, key = Headers(scope=scope).get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise AuthenticationError(
                "missing API key; send the header 'Authorization: Bearer <api key>' with a key "
                "from `memosys init`, `memosys user add` or `memosys key create`"
            )
        client = scope.get("client")
        return self._mos.authenticate(key.strip(), client=client[0] if client else "unknown")


def request_principal(request: Any) -> Principal | None:
    """The principal :class:`ApiKeyGate` accepted for an HTTP request (None for stdio)."""
    state = getattr(request, "scope", {}).get("state", {})
    principal: Principal | None = state.get(PRINCIPAL)
    return principal


def request_id(request: Any) -> str | None:
    """The id :class:`~memosys.server.request_ids.RequestIdMiddleware` gave the request."""
    value: str | None = getattr(request, "scope", {}).get("state", {}).get("request_id")
    return value
