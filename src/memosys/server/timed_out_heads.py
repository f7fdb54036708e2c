"""A request head that timed out is logged and counted as an answered request is.

The 408 of :mod:`.header_timeout` is written by the HTTP protocol, before a request
reaches the app: uvicorn's access log (written for the app's responses) and
:class:`~.metrics.MetricsMiddleware` never saw it, and a server held by slow clients
looked idle in both. :func:`record_timed_out_head` writes the access line uvicorn
would (``client - "METHOD PATH HTTP/1.1" 408``, ``-`` for what did not arrive) and
counts the request in ``/metrics`` under the route ``<unmatched>`` (no route was
matched, and a raw path never becomes a label) and its method (``OTHER`` when the
request line did not arrive whole), for as long as its head's clock ran.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

from memosys.server.metrics import METHODS, OTHER_METHOD, UNMATCHED, Metrics

STATUS = 408
UNKNOWN = "-"
_REQUEST_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([!-~]+) HTTP/(\d\.\d)\r?\n")
_TARGET_SAFE = "/?&=;:@!$'()*+,%-._~"  # printable characters kept as sent; others escaped


def _request_line(received: bytes) -> tuple[str, str, str]:
    """The method, target and HTTP version of the request line at the start of
    ``received`` (``-`` each when it did not arrive whole, or is not HTTP's)."""
    match = _REQUEST_LINE.match(received)
    if match is None:
        return UNKNOWN, UNKNOWN, UNKNOWN
    method, target, version = (part.decode("ascii") for part in match.groups())
    return method, quote(target, safe=_TARGET_SAFE), version


def record_timed_out_head(
    received: bytes, client: tuple[str, int] | None, seconds: float,
    metrics: Metrics | None, access_logger: logging.Logger | None,
) -> None:
    """Count the request whose head (so far ``received``) timed out after ``seconds``
    in ``metrics``, and write its line to ``access_logger`` (each if given)."""
    method, target, version = _request_line(received)
    if metrics is not None:
        label = method if method in METHODS else OTHER_METHOD
        metrics.unserved(label, UNMATCHED, STATUS, seconds)
    if access_logger is not None:
        address = f"{client[0]}:{client[1]}" if client else ""  # uvicorn's get_client_addr
        access_logger.info('%s - "%s %s HTTP/%s" %d', address, method, target, version, STATUS)
