"""Searches wait for a turn without holding a thread, so other requests still get one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from memosys import MemOS
from memosys.server.app import create_app
from memosys.server.transport import InProcessTransport
from memosys.settings import MemosysSettings, RetrievalSettings
from query_hook import QueryHook

WAITING_SEARCHES = 60  # more than the server's default thread pool (40)


class _GatedEmbedder(QueryHook):
    """The real embedder; query embeddings wait until the gate opens."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.entered = threading.Event()
        self.gate = threading.Event()

    @contextmanager
    def around_query(self) -> Iterator[None]:
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        yield


def test_waiting_searches_leave_threads_for_other_requests(tmp_path: Path, embedder: Any) -> None:
    gated = _GatedEmbedder(embedder)
    settings = MemosysSettings(retrieval=RetrievalSettings(concurrent_searches=1))
    with MemOS.open(tmp_path, settings=settings, embedder=gated) as mos:
        key = mos.ensure_admin_key()
        assert key is not None
        mos.add_texts(["the garden needs water"], user_id="admin")
        transport = InProcessTransport(create_app(mos))
        headers = {"Authorization": f"Bearer {key.api_key}"}
        with httpx.Client(base_url="http://memosys.test", headers=headers,
                          transport=transport, timeout=60) as client, \
                ThreadPoolExecutor(WAITING_SEARCHES + 1) as pool:
            searches = [pool.submit(client.post, "/v1/search", json={"query": f"garden {n}"})
                        for n in range(WAITING_SEARCHES)]
            assert gated.entered.wait(30)
            # one search holds the only turn; the others wait for it
            other = pool.submit(client.get, "/v1/cubes")
            try:
                assert other.result(timeout=20).status_code == 200
                assert not any(search.done() for search in searches)
            finally:
                gated.gate.set()
            assert [s.result(timeout=60).status_code for s in searches] == [200] * WAITING_SEARCHES
        transport.close()
