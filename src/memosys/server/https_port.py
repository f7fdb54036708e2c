"""The HTTPS port answers a plain-HTTP request with 400 naming ``https://``.

With TLS set up by asyncio's server (uvicorn's ``ssl_certfile``), a client that
sent ``http://`` to the HTTPS port failed the handshake and had its connection
closed without a word (curl: "Empty reply from server"). Here the port's
protocol sets TLS up itself, from a connection's first bytes: a TLS handshake
record goes on to asyncio's TLS protocol around a new HTTP protocol, as the
server's would have; anything else gets ``400 PlainHttpError`` with the
``https://`` URL to use, and the connection is closed. Such a 400 is logged and
counted like the app's answers (:mod:`.unserved`).

The handshake counts as part of the request head: from the connection, its first
bytes and the handshake have the HTTP protocol's ``timeout_s`` together (asyncio
would give a client that never starts its handshake 60 s).
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import time
from asyncio.sslproto import SSLProtocol
from typing import Any, ClassVar

from uvicorn.protocols.utils import get_remote_addr

from memosys.core.errors import PlainHttpError
from memosys.server.access_log import ACCESS_LOGGER
from memosys.server.header_timeout import HeaderTimeoutProtocol
from memosys.server.no_delay import send_at_once
from memosys.server.unserved import UNKNOWN, raw_answer, record_unserved, request_line

TLS_HANDSHAKE = 0x16  # the first byte of a TLS record that carries a handshake
_HOST = re.compile(rb"\r?\nhost:[ \t]*([A-Za-z0-9.:\[\]-]+)[ \t]*\r?\n", re.IGNORECASE)

_log = logging.getLogger("memosys.server")


class HttpsPort(asyncio.Protocol):
    """A connection to the HTTPS port, until its first bytes say what it speaks.

    uvicorn creates it as its HTTP protocol (``uvicorn.Config(http=...)``, without
    uvicorn's own ``ssl_*`` options); ``http`` is the HTTP protocol class that each
    TLS connection gets, created with uvicorn's arguments, and ``context`` the
    server's TLS context (see :func:`https_port`)."""

    http: ClassVar[type[HeaderTimeoutProtocol]] = HeaderTimeoutProtocol
    context: ClassVar[ssl.SSLContext | None] = None

    def __init__(self, **uvicorn: Any) -> None:
        self._uvicorn = uvicorn
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._started = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        send_at_once(transport)  # for the handshake too
        self._transport = transport
        self._started = time.perf_counter()
        self._timer = asyncio.get_running_loop().call_later(self.http.timeout_s, transport.close)

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None and self._timer is not None
        self._timer.cancel()
        if data[0] == TLS_HANDSHAKE:
            self._start_tls(self._transport, data)
        else:
            self._refuse(self._transport, data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _start_tls(self, transport: asyncio.Transport, first: bytes) -> None:
        """Hand the connection, and the bytes already read, to TLS around HTTP."""
        if self.context is None:
            raise RuntimeError("HttpsPort.context is not set; create the class with https_port()")
        left = self.http.timeout_s - (time.perf_counter() - self._started)
        # typeshed's stub wants a waiter and a whole number of seconds; asyncio takes
        # neither (its own servers pass a float)
        tls = SSLProtocol(
            asyncio.get_running_loop(), self.http(**self._uvicorn), self.context,
            None,  # type: ignore[arg-type]
            server_side=True,
            ssl_handshake_timeout=max(left, 0.001),  # type: ignore[arg-type]
        )
        transport.set_protocol(tls)
        tls.connection_made(transport)
        unread = memoryview(first)
        while unread:
            buffer = tls.get_buffer(len(unread))
            size = min(len(buffer), len(unread))
            buffer[:size] = unread[:size]
            tls.buffer_updated(size)
            unread = unread[size:]

    def _refuse(self, transport: asyncio.Transport, received: bytes) -> None:
        """Answer 400 to plain HTTP, naming the URL to use, and close."""
        error = PlainHttpError(
            f"this port serves HTTPS only; send the request to {_https_url(received)}",
            detail={"scheme": "https"},
        )
        client = get_remote_addr(transport)
        transport.write(raw_answer(error))
        transport.close()
        _log.info("plain HTTP from %s on the HTTPS port: answered 400", client)
        config = self._uvicorn.get("config")
        access_log = logging.getLogger(ACCESS_LOGGER) if getattr(config, "access_log",
                                                                   True) else None
        record_unserved(received, error.status, client, time.perf_counter() - self._started,
                        self.http.metrics, access_log)


def _https_url(received: bytes) -> str:
    """``https://`` and the host and target of the plain request, as far as they came."""
    host = _HOST.search(received)
    target = request_line(received)[1]
    if host is None:
        return "https:// (the same host and port)"
    return f"https://{host[1].decode('ascii')}{target if target != UNKNOWN else '/'}"


def https_port(http: type[HeaderTimeoutProtocol], context: ssl.SSLContext) -> type[HttpsPort]:
    """:class:`HttpsPort` that serves ``http`` over TLS with ``context``, for
    ``uvicorn.Config(http=...)``."""

    class Port(HttpsPort):
        pass

    Port.http, Port.context = http, context
    return Port
