"""Requests that the HTTP protocol answers itself are logged and counted as the app's are.

Two answers are written before a request reaches the app: the 408 of a head that
timed out (:mod:`.header_timeout`) and the 400 to plain HTTP on the HTTPS port
(:mod:`.https_port`). uvicorn's access log (written for the app's responses) and
:class:`~.metrics.MetricsMiddleware` never see them, and a server held by slow or
misconfigured clients would look idle in both. :func:`raw_answer` writes such an
answer in the API's ``{error, message, detail}`` form; :func:`record_unserved` writes
the access line uvicorn would (``client - "METHOD PATH HTTP/1.1" STATUS``, ``-`` for
what did not arrive) and counts the request in ``/metrics`` under the route
``<unmatched>`` (no route was matched, and a raw path never becomes a label) and its
method (``OTHER`` when the request line did not arrive whole), for as long as it took.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from urllib.parse import quote

from memosys.core.errors import MemosysError
from memosys.server.metrics import METHODS, OTHER_METHOD, UNMATCHED, Metrics

UNKNOWN = "-"
_REQUEST_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([!-~]+) HTTP/(\d\.\d)\r?\n")
_TARGET_SAFE = "/?&=;:@!$'()*+,%-._~"  # printable characters kept as sent; others escaped


def request_line(received: bytes) -> tuple[str, str, str]:
    """The method, target and HTTP version of the request line at the start of
    ``received`` (``-`` each when it did not arrive whole, or is not HTTP's)."""
    match = _REQUEST_LINE.match(received)
    if match is None:
        return UNKNOWN, UNKNOWN, UNKNOWN
    method, target, version = (part.decode("ascii") for part in match.groups())
    return method, quote(target, safe=_TARGET_SAFE), version


def raw_answer(error: MemosysError) -> bytes:
    """The whole HTTP/1.1 response for ``error`` (its status, its JSON body), after
    which the connection closes."""
    body = json.dumps(error.to_dict()).encode()
    head = (f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n")
    return head.encode() + body


def record_unserved(
    received: bytes, status: int, client: tuple[str, int] | None, seconds: float,
    metrics: Metrics | None, access_logger: logging.Logger | None,
) -> None:
    """Count the request (so far ``received``) answered ``status`` after ``seconds`` in
    ``metrics``, and write its line to ``access_logger`` (each if given)."""
    method, target, version = request_line(received)
    if metrics is not None:
        label = method if method in METHODS else OTHER_METHOD
        metrics.unserved(label, UNMATCHED, status, seconds)
    if access_logger is not None:
        address = f"{client[0]}:{client[1]}" if client else ""  # uvicorn's get_client_addr
        access_logger.info('%s - "%s %s HTTP/%s" %d', address, method, target, version, status)
