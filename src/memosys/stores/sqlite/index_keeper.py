"""The process that keeps the shared HNSW indexes without serving searches.

Under ``serve --workers`` each large cube's HNSW index is kept by one
process and viewed by the others (:mod:`.vector_cache`). A worker that kept
it would insert every write and save the index every few thousand changes;
a usearch save holds the interpreter lock for its whole length (0.1-0.25 s
at 100k vectors here), so every request of that worker waited for it. The
parent process serves no requests: it claims the large cubes before the
workers start, then follows their writes, inserts and saves. A cube that
grows large later is claimed at the next look, unless a worker that loaded
it took it first (it keeps it then, as before).
"""

from __future__ import annotations

import logging
import threading
import time

from memosys.core.errors import MemosysError
from memosys.stores.sqlite.connection import Database
from memosys.stores.sqlite.vector_cache import VectorCache

FOLLOW_EVERY_S = 0.2  # how often the keeper applies the others' writes
CLAIM_EVERY_S = 30.0  # how often it looks for cubes grown large

_log = logging.getLogger(__name__)


class IndexKeeper:
    """Claims the large cubes at once, then follows them in a daemon thread
    (:attr:`thread`) until ``stop`` is set."""

    def __init__(self, db: Database, vectors: VectorCache, stop: threading.Event) -> None:
        self._db = db
        self._vectors = vectors
        self._stop = stop
        with db.read() as conn:
            claimed = vectors.claim_large(conn)
        _log.info("keeping the shared vector indexes of %d cubes", len(claimed))
        self._claimed_at = time.monotonic()
        self.thread = threading.Thread(target=self._run, name="memosys-keep-indexes",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._round()
            except MemosysError as exc:  # the store closed under us
                _log.info("shared vector indexes no longer kept: %s", exc)
                return
            self._stop.wait(FOLLOW_EVERY_S)

    def _round(self) -> None:
        with self._db.read() as conn:
            if time.monotonic() - self._claimed_at >= CLAIM_EVERY_S:
                self._vectors.claim_large(conn)
                self._claimed_at = time.monotonic()
            self._vectors.follow_kept(conn)
