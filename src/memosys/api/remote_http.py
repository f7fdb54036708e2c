"""The HTTP session under RemoteMemOS: requests, argument encoding, errors.

A server error comes back as JSON ``{error, message, detail}`` and is raised
again here as the same :class:`~memosys.core.errors.MemosysError` subclass.
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
import numpy as np
from pydantic_core import to_jsonable_python

from memosys.core.errors import InvalidInputError, MemosysError, error_class

DEFAULT_TIMEOUT_S = 60.0


def segment(value: object, what: str) -> str:
    """A path segment, percent-encoded; an empty or non-string value is refused here."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{what} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready Python (numpy arrays as lists, datetimes as ISO text)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    return to_jsonable_python(value)


def without_none(values: dict[str, Any]) -> dict[str, Any]:
    """The arguments that were given (not None), JSON-ready."""
    return {key: jsonable(value) for key, value in values.items() if value is not None}


def _raise_for(response: httpx.Response) -> None:
    """Re-raise the server's error as the same MemosysError subclass."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
        name, message, detail = body["error"], body["message"], body.get("detail") or {}
    except (ValueError, KeyError, TypeError):
        raise MemosysError(
            f"HTTP {response.status_code} from {response.request.url}: {response.text[:200]}",
            detail={"status": response.status_code},
        ) from None
    raise error_class(str(name))(str(message), detail=dict(detail))


def json_text(value: Any) -> str:
    """``value`` as JSON text (for a query parameter or a form field)."""
    return json.dumps(jsonable(value))


class HttpSession:
    """An API key's HTTP connection to a memosys server; a context manager."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, headers=headers, transport=transport, timeout=timeout
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise MemosysError(
                f"cannot reach the memosys server at {self.url} ({exc}); "
                "check the URL and that `memosys serve` is running",
                detail={"url": self.url},
            ) from exc
        _raise_for(response)
        return None if response.status_code == 204 else response.json()

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=without_none(params))

    def _send(self, method: str, path: str, **body: Any) -> Any:
        return self._request(method, path, json=without_none(body))

