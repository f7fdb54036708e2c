"""The contract fixture: one API, four backends.

``api`` is the local :class:`MemOS`, a :class:`RemoteMemOS` over the in-process
ASGI transport, and a :class:`RemoteMemOS` against uvicorn on loopback, with
adds in the server process (``http``) and in a write process (``writers``, as
``memosys serve`` runs by default). The remote clients hold an admin key, so
they may act for any ``user_id`` just as local calls do. Backends are built
once per session, on first use.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memosys import MemOS, RemoteMemOS
from memosys.server.app import create_app
from memosys.server.background import BackgroundServer
from memosys.server.settings import ServerSettings
from memosys.server.transport import InProcessTransport

BACKENDS = ("local", "asgi", "http", "writers")


class Backends:
    """Builds each backend on first use and closes them all at the end."""

    def __init__(self, root: Path, embedder: Any) -> None:
        self._root = root
        self._embedder = embedder
        self._built: dict[str, Any] = {}
        self._closers: list[Callable[[], None]] = []

    def get(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = self._build(name)
        return self._built[name]

    def _build(self, name: str) -> Any:
        mos = MemOS.open(self._root / name, embedder=self._embedder)
        self._closers.append(mos.close)
        if name == "local":
            return mos
        admin = mos.ensure_admin_key()
        assert admin is not None
        app = create_app(mos, ServerSettings(write_processes=1 if name == "writers" else 0))
        if app.state.writers is not None:  # (no lifespan: the app would close them)
            self._closers.append(app.state.writers.close)
        if name == "asgi":
            remote = RemoteMemOS("http://memosys.test", api_key=admin.api_key,
                                 transport=InProcessTransport(app))
        else:
            server = BackgroundServer(app).start()
            self._closers.append(server.stop)
            remote = RemoteMemOS(server.url, api_key=admin.api_key)
        self._closers.append(remote.close)
        return remote

    def close(self) -> None:
        for close in reversed(self._closers):
            close()


@pytest.fixture(scope="session")
def backends(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[Backends]:
    built = Backends(tmp_path_factory.mktemp("contract"), embedder)
    yield built
    built.close()


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, backends: Backends) -> Any:
    """The API under test: local MemOS, RemoteMemOS over ASGI, RemoteMemOS over HTTP
    (adds in the server process, or in a write process)."""
    return backends.get(request.param)


@pytest.fixture
def users() -> Callable[[str], str]:
    """Fresh user ids for one test, e.g. ``users("ana")`` -> ``ana-1a2b3c4d``."""
    tag = uuid.uuid4().hex[:8]
    return lambda name: f"{name}-{tag}"
