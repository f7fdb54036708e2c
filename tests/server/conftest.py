"""Server fixtures: one data directory and app per module, keys per user, raw HTTP clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from memosys import MemOS
from memosys.server.app import create_app
from memosys.server.transport import InProcessTransport


@pytest.fixture(scope="module")
def mos(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[MemOS]:
    with MemOS.open(tmp_path_factory.mktemp("server"), embedder=embedder) as memos:
        yield memos


@pytest.fixture(scope="module")
def app(mos: MemOS) -> Any:
    return create_app(mos)


@pytest.fixture(scope="module")
def admin_key(mos: MemOS) -> str:
    issued = mos.ensure_admin_key()
    assert issued is not None
    return issued.api_key


@pytest.fixture(scope="module")
def http(app: Any) -> Iterator[Callable[..., httpx.Client]]:
    """``http(key)``: an httpx client to the app with that Bearer key (or none)."""
    opened: list[httpx.Client] = []

    def client(key: str | None = None, address: str = "127.0.0.1") -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        transport = InProcessTransport(app, client=(address, 40000))
        opened.append(httpx.Client(base_url="http://memosys.test", headers=headers,
                                   transport=transport))
        return opened[-1]

    yield client
    for each in opened:
        each.close()
