"""A stop that drains: on SIGTERM the server first says ``draining`` on ``/readyz``.

A load balancer polls ``/readyz`` and stops sending a server new requests once
it answers 503; a server that stopped listening at once would instead show
the balancer's clients refused connections until its next poll. So with
``serve --drain-s N`` the first SIGTERM turns ``/readyz`` to 503 ``draining``
while the server goes on serving for N seconds, then it stops as uvicorn
does (requests in hand finish). SIGINT, or a second SIGTERM, stops at once.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

import uvicorn


class DrainingServer(uvicorn.Server):
    """uvicorn's server, whose first SIGTERM drains for ``drain_s`` seconds (``state``:
    the app's, where ``draining`` is set for ``/readyz``)."""

    def __init__(self, config: uvicorn.Config, state: Any, drain_s: float) -> None:
        super().__init__(config)
        self._state = state
        self._drain_s = drain_s
        self._draining: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and self._drain_s > 0 and self._draining is None:
            self._state.draining = True
            self._draining = threading.Timer(self._drain_s, self._stop, (sig, frame))
            self._draining.daemon = True
            self._draining.start()
            return
        super().handle_exit(sig, frame)

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:  # a second signal may have stopped it already
            super().handle_exit(sig, frame)
