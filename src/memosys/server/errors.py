"""Errors on the wire: every failure is JSON ``{error, message, detail}``.

A :class:`MemosysError` keeps its class name and status; request validation
errors become ``InvalidInputError`` (422) with the offending fields; HTTP
errors of the framework (unknown route, wrong method) keep their status.
"""

from __future__ import annotations

import asyncio
import logging
import math
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from memosys.core.errors import (
    AuthenticationError,
    InvalidInputError,
    MemosysError,
    NotFoundError,
    RateLimitedError,
    ServerStoppedError,
    invalid_fields,
)
from memosys.server.http_middleware import HttpMiddleware

_log = logging.getLogger("memosys.server")
_HTTP_ERROR_NAMES = {
    401: AuthenticationError,
    404: NotFoundError,
    405: NotFoundError,  # no such route for this method
    422: InvalidInputError,
}
ERROR_STATUSES = (401, 403, 404, 408, 409, 413, 422, 429, 502, 503)


class ErrorOut(BaseModel):
    """The body of every error response."""

    error: str = Field(description="the MemosysError class name, e.g. NotFoundError")
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)


def error_responses() -> dict[int | str, dict[str, Any]]:
    """The error statuses a ``/v1`` route declares in the OpenAPI schema."""
    return {status: {"model": ErrorOut} for status in ERROR_STATUSES}


def error_response(error: MemosysError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON response for a memosys error."""
    return JSONResponse(error.to_dict(), status_code=error.status, headers=headers)


def error_headers(error: MemosysError) -> dict[str, str]:
    """``WWW-Authenticate`` on 401 and ``Retry-After`` on 429, as HTTP clients expect."""
    if isinstance(error, AuthenticationError):
        return {"WWW-Authenticate": "Bearer"}
    retry_after = error.detail.get("retry_after_s")
    if isinstance(error, RateLimitedError) and isinstance(retry_after, int | float):
        return {"Retry-After": str(max(1, math.ceil(retry_after)))}
    return {}


async def _memosys_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MemosysError)
    return error_response(exc, error_headers(exc))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(invalid_fields(exc.errors(), "request"))


def _http_message(request: Request, exc: HTTPException) -> str:
    """The framework's message, or for an unknown route or method, which one and the fix."""
    route = f"{request.method} {request.url.path}"
    if exc.status_code == 404 and exc.detail == HTTPStatus.NOT_FOUND.phrase:
        return f"no route {route}; see /docs for the API"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return f"no route {route} (allowed methods: {allowed}); see /docs for the API"
    return str(exc.detail)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # a body the framework could not parse (bad UTF-8, JSON too deep)
        return error_response(InvalidInputError(
            f"the request body cannot be read ({exc.detail}); send UTF-8 JSON, or "
            "multipart form data for an upload",
            detail={"field": "body"},
        ))
    cls = _HTTP_ERROR_NAMES.get(exc.status_code)
    body = {
        "error": cls.error_name() if cls else "HTTPError",
        "message": _http_message(request, exc),
        "detail": {},
    }
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


class UnexpectedErrorMiddleware(HttpMiddleware):
    """Answer a bug with a JSON 500 and log it, keeping the connection; answer a request
    cancelled by a forced stop with :func:`stopped_answer`.

    It runs inside the request-id and metrics middlewares, so that the 500
    carries ``X-Request-ID`` and ``Server-Timing`` like any other answer (an
    exception handler for ``Exception`` would answer from outside them and
    re-raise, which drops a keep-alive connection).
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def send_and_note(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except asyncio.CancelledError:
            if not started:
                await stopped_answer(scope)(scope, receive, send)
            raise
        except Exception:
            request_id = scope.get("state", {}).get("request_id")
            _log.exception("unexpected error in request %s", request_id)
            if started:  # too late for an error answer: the client sees the cut
                raise
            error = MemosysError("internal server error", detail={"request_id": request_id})
            await error_response(error)(scope, receive, send)


def stopped_answer(scope: Scope) -> JSONResponse:
    """The 503 ``ServerStoppedError`` for a request cancelled in hand.

    A second Ctrl-C is uvicorn's "quit now": it stops waiting for the requests in
    hand, and the loop's end cancels them. A write's thread (and its write process)
    is not cut: the cancel reaches the request once the write has committed or
    failed, and uvicorn answered it with a bare 500, so the client of a stored add
    could not tell. It now learns that its answer was lost, not its write.
    """
    request_id = scope.get("state", {}).get("request_id")
    _log.warning("request %s cancelled: the server was stopped before it answered", request_id)
    return error_response(ServerStoppedError(
        "the server was stopped before it answered this request; a write it carried may "
        "have been stored: look it up before sending it again",
        detail={"request_id": request_id},
    ))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into ``{error, message, detail}``
    (bugs: :class:`UnexpectedErrorMiddleware`)."""
    app.add_exception_handler(MemosysError, _memosys_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
