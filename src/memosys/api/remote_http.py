"""The HTTP session under RemoteMemOS: requests, argument encoding, errors.

A server error comes back as JSON ``{error, message, detail}`` and is raised
again here as the same :class:`~memosys.core.errors.MemosysError` subclass.
"""

from __future__ import annotations

import json
import os
import ssl
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlsplit

import httpx
import numpy as np
from pydantic_core import to_jsonable_python

from memosys.core.errors import (
    ConfigurationError,
    EncodingError,
    InvalidInputError,
    MemosysError,
    ResponseLostError,
    ServerUnreachableError,
    error_class,
    memory_not_found,
)
from memosys.core.ids import is_id
from memosys.reader.validate import check_text

DEFAULT_TIMEOUT_S = 60.0

#: How a client checks the server's TLS certificate: True (the system's CA
#: certificates), a CA bundle or the server's own certificate (a PEM file), or a
#: context of its own.
Verify = bool | str | os.PathLike[str] | ssl.SSLContext


def segment(value: object, what: str) -> str:
    """A path segment, percent-encoded (``/`` too, and a ``.`` or ``..`` segment, which
    URL libraries would resolve); an empty or non-string value is refused here."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{what} must be a non-empty string, got {value!r}")
    check_text(value, what)
    if value in (".", ".."):
        return "%2E" * len(value)
    return quote(value, safe="")


def memory_segment(id: object) -> str:
    """A memory id as a path segment. Memory ids are UUIDs, so any other string
    names no memory: NotFoundError here, as on the server (where a word such as
    ``count`` would reach another route)."""
    if isinstance(id, str) and id and not is_id(id):
        raise memory_not_found(id)
    return segment(id, "id")


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready Python (numpy arrays as lists, datetimes as ISO text)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    return to_jsonable_python(value)


def without_none(values: dict[str, Any]) -> dict[str, Any]:
    """The arguments that were given (not None), JSON-ready."""
    return {key: jsonable(value) for key, value in values.items() if value is not None}


def json_body(values: dict[str, Any]) -> bytes:
    """The arguments ``values`` as a JSON body in UTF-8 (errors as :func:`_encoded`)."""
    try:
        return _json_bytes(values)
    except ValueError:  # find the argument to name
        for name, value in values.items():
            _encoded(value, name)
        raise


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


def _ssl_context(verify: Verify) -> bool | ssl.SSLContext:
    """``verify`` as httpx takes it (a file as a context: httpx deprecates paths)."""
    if isinstance(verify, bool | ssl.SSLContext):
        return verify
    try:
        return ssl.create_default_context(cafile=os.fspath(verify))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"cannot load verify={os.fspath(verify)!r} ({exc}); give the server's certificate "
            "or its CA bundle as a PEM file", detail={"verify": os.fspath(verify)},
        ) from exc


# OpenSSL's X509_V_ERR_CERT_NOT_YET_VALID, _CERT_HAS_EXPIRED; _HOSTNAME_MISMATCH,
# _IP_ADDRESS_MISMATCH: the certificate is trusted, verify= is not what to change
_OUT_OF_DATE = {9: "is not valid yet", 10: "has expired"}
_OTHER_HOST = (62, 64)
# OpenSSL's names for a TLS handshake answered by something else (an HTTP response)
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"})


def _fix(exc: BaseException) -> str:
    """What to do about a failed request: an untrusted certificate names ``verify``, a
    plain-HTTP server ``http://``."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError) and cause.reason in _NOT_TLS:
            return ("the server answered in plain HTTP, not TLS: use http://, or serve "
                    "HTTPS (`memosys serve --tls-cert FILE --tls-key FILE`)")
        if isinstance(cause, ssl.SSLCertVerificationError):
            if cause.verify_code in _OUT_OF_DATE:
                return (f"the server's TLS certificate {_OUT_OF_DATE[cause.verify_code]}: the "
                        "server needs a current one (check both machines' clocks too)")
            if cause.verify_code in _OTHER_HOST:
                return ("the server's TLS certificate is for another host: connect with a "
                        "name or address that it names (its subjectAltName)")
            return ("the server's TLS certificate is not trusted: pass verify=<its certificate "
                    "or CA bundle (PEM)> to RemoteMemOS")
        cause = cause.__cause__ or cause.__context__
    return ("check the URL (https:// for a server with --tls-cert) and that `memosys serve` "
            "is running")


# failures before the request left: sending it again is safe
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
             httpx.UnsupportedProtocol, httpx.ProxyError)


def _checked_url(url: object) -> str:
    """``url`` without its trailing ``/``, once it is an http:// or https:// URL with a
    host."""
    if isinstance(url, str):
        parsed = urlsplit(url)
        if parsed.scheme in ("http", "https") and parsed.hostname:
            return url.rstrip("/")
    raise InvalidInputError(
        f"url must be the server's http:// or https:// address, such as "
        f"http://127.0.0.1:8765, got {url!r}", detail={"field": "url"},
    )


def _checked_key(api_key: object) -> str:
    """``api_key`` once it is text without spaces or control characters."""
    if not isinstance(api_key, str) or any(c.isspace() or not c.isprintable() for c in api_key):
        raise InvalidInputError(
            "api_key must be the key that `memosys init`, `memosys user add` or `memosys key "
            "create` printed, as text without spaces", detail={"field": "api_key"},
        )
    return api_key


def _checked_timeout(timeout: object) -> float:
    """``timeout`` once it is a positive, finite number of seconds."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not (
        0 < timeout < float("inf")
    ):
        raise InvalidInputError(
            f"timeout must be a positive number of seconds, got {timeout!r}",
            detail={"field": "timeout"},
        )
    return float(timeout)


def _checked_retries(retries: object, transport: httpx.BaseTransport | None) -> int:
    """``retries`` once it is a count from 0 to 10, and 0 with a ``transport`` of the
    caller's (the retries are the network transport's)."""
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise InvalidInputError(
            f"retries must be a whole number from 0 to 10, got {retries!r}",
            detail={"field": "retries"},
        )
    if retries and transport is not None:
        raise InvalidInputError(
            "retries needs the network transport; drop transport=, or retries=",
            detail={"field": "retries"},
        )
    return retries


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()


def _encoded(value: Any, name: str) -> bytes:
    """``value`` as JSON in UTF-8; NaN or infinity is InvalidInputError and an
    unpaired surrogate EncodingError, naming the argument, as MemOS raises them."""
    try:
        return _json_bytes(value)
    except UnicodeEncodeError as exc:  # (a ValueError too)
        raise EncodingError(
            f"{name} contains an unpaired surrogate; send well-formed Unicode text",
            detail={"field": name},
        ) from exc
    except ValueError as exc:
        raise InvalidInputError(
            f"{name} contains NaN or infinite values; send finite numbers",
            detail={"field": name},
        ) from exc


def json_text(value: Any, name: str) -> str:
    """``value`` as JSON text (for a query parameter or a form field named ``name``)."""
    return _encoded(jsonable(value), name).decode()


class HttpSession:
    """An API key's HTTP connection to a memosys server; a context manager."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        verify: Verify = True,
        retries: int = 0,
    ) -> None:
        headers = {"Authorization": f"Bearer {_checked_key(api_key)}"} if api_key else {}
        self.url = _checked_url(url)
        timeout_s = _checked_timeout(timeout)
        self._retries = _checked_retries(retries, transport)
        tls = _ssl_context(verify)
        if transport is None:  # the network, trying again to connect (nothing sent yet)
            transport = httpx.HTTPTransport(verify=tls, retries=retries)
        self._http = httpx.Client(
            base_url=self.url, headers=headers, transport=transport, timeout=timeout_s, verify=tls
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
        except _NOT_SENT as exc:
            tries = f" in {self._retries + 1} tries" if self._retries else ""
            raise ServerUnreachableError(
                f"cannot reach the memosys server at {self.url}{tries} ({exc}); {_fix(exc)}",
                detail={"url": self.url},
            ) from exc
        except httpx.TransportError as exc:
            raise self._lost(method, path, exc) from exc
        _raise_for(response)
        return None if response.status_code == 204 else response.json()

    def _lost(self, method: str, path: str, exc: httpx.TransportError) -> ResponseLostError:
        """The error for a request that was sent (maybe in part) and got no answer."""
        call = f"{method} {path}"
        if isinstance(exc, httpx.TimeoutException):
            what = f"did not answer {call} within {self._http.timeout.read:g} s"
            slow = "; for slow calls (large documents) raise RemoteMemOS(timeout=...)"
        else:
            what, slow = f"broke the connection before answering {call} ({exc})", ""
        return ResponseLostError(
            f"the memosys server at {self.url} {what}; if it was a write, it may have been "
            f"stored: look it up before sending it again{slow}",
            detail={"url": self.url, "method": method, "path": path},
        )

    def _get(self, path: str, **params: Any) -> Any:
        given = without_none(params)
        for name, value in given.items():
            if isinstance(value, str):
                check_text(value, name)
        return self._request("GET", path, params=given)

    def _send(self, method: str, path: str, **body: Any) -> Any:
        content = json_body(without_none(body))
        headers = {"Content-Type": "application/json"}
        return self._request(method, path, content=content, headers=headers)

