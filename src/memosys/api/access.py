"""Access statistics written behind searches, in batches, so a search never waits for them.

A search counts one access of each hit (``access_count``, ``last_accessed_at``:
what decay, LRU/LFU caps and hot-cache promotion read). Writing that in the
search's own call would queue every search behind the adds holding the one
writer, and every commit makes the read connections drop their page caches.
:class:`AccessRecorder` keeps the accesses in memory and one background
thread writes what gathered in one transaction, at most every
:data:`FLUSH_AFTER_S`. Reads that show the statistics (get, list, count,
export, jobs) call :meth:`AccessRecorder.settle` first, so they see every
access recorded before them. Accesses not yet written when a process dies
without closing are lost, and one that cannot be written (the store is busy
past its lock timeout) is logged and dropped: these are statistics, not
memories.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime

from memosys.core.errors import MemosysError
from memosys.stores.base import Store

FLUSH_AFTER_S = 1.0

_log = logging.getLogger(__name__)


class AccessRecorder:
    """Gathers ``store.record_access`` calls and writes them in batches, in call order."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()  # guards the fields below
        self._gathered = threading.Condition(self._lock)
        self._pending: list[tuple[list[str], datetime]] = []
        self._writing = False  # a batch is taken and its transaction not yet committed
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()

    def record(self, ids: Sequence[str], at: datetime) -> None:
        """Count one access of each of ``ids`` at ``at`` (written soon, not now)."""
        if not ids:
            return
        with self._lock:
            self._pending.append((list(ids), at))
            if self._worker is None and not self._stop.is_set():
                self._worker = threading.Thread(
                    target=self._run, name="memosys-access", daemon=True
                )
                self._worker.start()
            if len(self._pending) == 1:
                self._gathered.notify()

    def settle(self) -> None:
        """Write every access recorded so far, or wait until it is written."""
        with self._lock:
            idle = not self._pending and not self._writing
        if not idle:
            self._flush()

    def close(self) -> None:
        """Write what is pending and stop the thread."""
        self._stop.set()
        with self._lock:
            worker, self._worker = self._worker, None
            self._gathered.notify()
        if worker is not None:
            worker.join()
        self._flush()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                while not self._pending and not self._stop.is_set():
                    self._gathered.wait()
            self._stop.wait(FLUSH_AFTER_S)  # gather more; close() cuts it short
            self._flush()

    def _flush(self) -> None:
        """Write the gathered accesses in one transaction. The writer is taken before the
        batch (the order every flush keeps), so a caller already inside a write of its
        own never waits for this thread."""
        try:
            with self._store.transaction():
                with self._lock:
                    batch, self._pending = self._pending, []
                    self._writing = bool(batch)
                for ids, at in batch:
                    self._store.record_access(ids, at)
        except MemosysError as exc:
            _log.warning("dropped access statistics of searches: %s", exc)
        finally:
            with self._lock:
                self._writing = False
