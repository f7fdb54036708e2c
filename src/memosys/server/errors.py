"""Errors on the wire: every failure is JSON ``{error, message, detail}``.

A :class:`MemosysError` keeps its class name and status; request validation
errors become ``InvalidInputError`` (422) with the offending fields; HTTP
errors of the framework (unknown route, wrong method) keep their status.
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from memosys.core.errors import (
    AuthenticationError,
    InvalidInputError,
    MemosysError,
    NotFoundError,
    RateLimitedError,
)

_HTTP_ERROR_NAMES = {
    401: AuthenticationError,
    404: NotFoundError,
    405: NotFoundError,  # no such route for this method
    422: InvalidInputError,
}


class ErrorOut(BaseModel):
    """The body of every error response."""

    error: str = Field(description="the MemosysError class name, e.g. NotFoundError")
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)


def error_response(error: MemosysError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON response for a memosys error."""
    return JSONResponse(error.to_dict(), status_code=error.status, headers=headers)


def _validation_fields(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(part) for part in err.get("loc", ())), "problem": err.get("msg", "")}
        for err in exc.errors()
    ]


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
    fields = _validation_fields(exc)
    first = fields[0] if fields else {"field": "request", "problem": "invalid"}
    message = f"invalid request: {first['field']}: {first['problem']}"
    if len(fields) > 1:
        message += f" (and {len(fields) - 1} more)"
    return error_response(InvalidInputError(message, detail={"errors": fields}))


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
    cls = _HTTP_ERROR_NAMES.get(exc.status_code)
    body = {
        "error": cls.error_name() if cls else "HTTPError",
        "message": _http_message(request, exc),
        "detail": {},
    }
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _unexpected_error(request: Request, _exc: Exception) -> JSONResponse:
    # Starlette re-raises the exception after this response, so the server logs it
    request_id = getattr(request.state, "request_id", None)
    return error_response(MemosysError("internal server error", detail={"request_id": request_id}))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into ``{error, message, detail}``."""
    app.add_exception_handler(MemosysError, _memosys_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
