"""Run the app on uvicorn in a background thread (tests, notebooks, benchmarks).

::

    with BackgroundServer(create_app(mos)) as server:
        client = RemoteMemOS(server.url, api_key=key)
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

from memosys.core.errors import ConfigurationError
from memosys.server.header_timeout import header_timeout_protocol
from memosys.server.settings import DEFAULT_HEADER_TIMEOUT_S

START_TIMEOUT_S = 30.0


class BackgroundServer:
    """uvicorn serving ``app`` on ``host`` (a free port unless ``port`` is given), with
    ``memosys serve``'s time limit on request heads (a 408 counted in the app's
    ``/metrics`` when ``app`` is :func:`~memosys.server.app.create_app`'s)."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0,
        header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S,
    ) -> None:
        import uvicorn

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        metrics = getattr(getattr(app, "state", None), "metrics", None)
        config = uvicorn.Config(app, log_level="warning", lifespan="off",
                                http=header_timeout_protocol(header_timeout_s, metrics))
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:41234``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigurationError(f"the server on {self.url} failed to start")
            time.sleep(0.01)  # uvicorn offers no start event; poll its flag
        return self

    def stop(self) -> None:
        """Finish open requests and stop."""
        self._server.should_exit = True
        self._thread.join(START_TIMEOUT_S)
        self._socket.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
