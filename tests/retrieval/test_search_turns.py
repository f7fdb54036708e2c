"""Searches take turns: at most ``retrieval.concurrent_searches`` run at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from memosys import MemOS
from memosys.settings import MemosysSettings, RetrievalSettings
from query_hook import QueryHook


class _CountingEmbedder(QueryHook):
    """The real embedder, counting how many query embeddings run at once.

    Each query embedding also waits 20 ms, so that searches that were let in
    together would overlap for certain.
    """

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self._lock = threading.Lock()
        self._running = 0
        self.most = 0

    @contextmanager
    def around_query(self) -> Iterator[None]:
        with self._lock:
            self._running += 1
            self.most = max(self.most, self._running)
        try:
            threading.Event().wait(0.02)
            yield
        finally:
            with self._lock:
                self._running -= 1


def _most_at_once(data_dir: Path, embedder: Any, turns: int) -> int:
    counting = _CountingEmbedder(embedder)
    settings = MemosysSettings(retrieval=RetrievalSettings(concurrent_searches=turns))
    with MemOS.open(data_dir, settings=settings, embedder=counting) as mos:
        mos.add_texts([f"note {n} about the garden" for n in range(20)], user_id="ana")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: mos.search(f"garden {n}", user_id="ana"), range(24)))
    return counting.most


def test_no_more_searches_run_at_once_than_allowed(tmp_path: Path, embedder: Any) -> None:
    assert _most_at_once(tmp_path / "one", embedder, 1) == 1
    assert 1 < _most_at_once(tmp_path / "three", embedder, 3) <= 3
