"""Access statistics written behind searches, so a search never waits for the writer.

A search counts one access of each hit (``access_count``, ``last_accessed_at``:
what decay, LRU/LFU caps and hot-cache promotion read). Writing that in the
search's own call would queue every search behind the adds holding the one
writer; :class:`AccessRecorder` hands the write to one background thread
instead. Reads that show the statistics (get, list, count, export, jobs) call
:meth:`AccessRecorder.settle` first, so they see every access recorded before
them. An access that cannot be written (the store is busy past its lock
timeout) is logged and dropped: these are statistics, not memories.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from memosys.core.errors import MemosysError
from memosys.stores.base import Store

_log = logging.getLogger(__name__)


class AccessRecorder:
    """Writes ``store.record_access`` calls on a background thread, in call order."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._writer: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []

    def record(self, ids: Sequence[str], at: datetime) -> None:
        """Count one access of each of ``ids`` at ``at`` (written soon, not now)."""
        if not ids:
            return
        with self._lock:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="memosys-access")
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(self._writer.submit(self._write, list(ids), at))

    def settle(self) -> None:
        """Wait until every access recorded so far is written."""
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        """Write what is pending and stop the thread."""
        self.settle()
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)

    def _write(self, ids: list[str], at: datetime) -> None:
        try:
            self._store.record_access(ids, at)
        except MemosysError as exc:
            _log.warning("dropped the access statistics of %d memories: %s", len(ids), exc)
