"""A time limit on the request head: a client must send its request line and headers
within ``timeout_s``, or it gets 408 and the connection is closed.

uvicorn's HTTP protocol times only an idle keep-alive connection; a client that
opened a connection and sent nothing, or its headers a byte at a time, held the
connection (and its place among the server's connections) for as long as it liked.
The clock starts when the connection is made, and for each later request on it
when its first bytes arrive (the idle wait before them is uvicorn's keep-alive
timeout, unchanged); it stops when the head is complete, after which the body has
``--body-timeout-s`` (:mod:`memosys.server.limits`). Over TLS the handshake comes
first, within the same limit (:mod:`memosys.server.https_port`). The protocol is uvicorn's h11
one, which the server used before (httptools, uvicorn's faster parser, is not a
dependency), now also where httptools is installed. A 408 is logged and counted in
``/metrics`` as an answered request (:mod:`memosys.server.unserved`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from memosys.core.errors import RequestTimeoutError
from memosys.server.no_delay import send_at_once
from memosys.server.settings import DEFAULT_HEADER_TIMEOUT_S
from memosys.server.unserved import raw_answer, record_unserved

if TYPE_CHECKING:
    from memosys.server.metrics import Metrics

_log = logging.getLogger("memosys.server")


def _too_slow(limit: float) -> RequestTimeoutError:
    return RequestTimeoutError(
        f"the request line and headers did not arrive within {limit:g} s; send them at "
        "once, or raise the server's limit (its `--header-timeout-s`)",
        detail={"header_timeout_s": limit},
    )


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, which answers 408 to a request head slower than
    ``timeout_s`` and closes the connection; the 408 is counted in ``metrics`` (the
    app's, if given) and written to the access log."""

    timeout_s = DEFAULT_HEADER_TIMEOUT_S
    metrics: Metrics | None = None
    _head_timer: asyncio.TimerHandle | None = None
    _head_started = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        send_at_once(transport)
        self._start()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:  # a head begun, not complete
            self._start()
        elif self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _start(self) -> None:
        if self._head_timer is None:
            self._head_started = time.perf_counter()
            self._head_timer = self.loop.call_later(self.timeout_s, self._timed_out)

    def _timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            _log.info("no request head from %s within %g s: answered 408", self.client,
                      self.timeout_s)
            error = _too_slow(self.timeout_s)
            self.transport.write(raw_answer(error))
            self.transport.close()
            record_unserved(
                self.conn.trailing_data[0], error.status, self.client,
                time.perf_counter() - self._head_started, self.metrics,
                self.access_logger if self.access_log else None,
            )


def header_timeout_protocol(
    limit_s: float, metrics: Metrics | None = None
) -> type[HeaderTimeoutProtocol]:
    """:class:`HeaderTimeoutProtocol` with the limit ``limit_s``, counting its 408s in
    ``metrics`` (the app's ``app.state.metrics``), for ``uvicorn.Config(http=...)``."""

    class Limited(HeaderTimeoutProtocol):
        timeout_s = limit_s

    Limited.metrics = metrics

    return Limited
