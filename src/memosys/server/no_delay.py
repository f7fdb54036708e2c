"""Each connection sends its writes at once (``TCP_NODELAY``).

asyncio sets ``TCP_NODELAY`` only on connections of a socket made with
``IPPROTO_TCP``: the sockets that uvicorn binds itself for ``--workers`` and the
one :class:`~memosys.server.background.BackgroundServer` passes in are not, so
Nagle's algorithm held each response's body until the client acknowledged its
head, which a client delays by 40 ms: every request on a kept-alive connection
took 44 ms instead of 3 (``GET /healthz``, ``memosys serve --workers 2``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket


def send_at_once(transport: asyncio.BaseTransport) -> None:
    """Turn Nagle's algorithm off for the TCP connection under ``transport``."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):  # closed already: nothing left to send
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
