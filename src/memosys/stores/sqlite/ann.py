"""The HNSW index (usearch) of a large cube: building, and saving it beside the database.

Building HNSW over a million 384-d vectors takes minutes on two cores, so a
store builds it once, in a background thread (exact search serves meanwhile),
and saves it beside the database (:mod:`.ann_files`) with the position in
the ``vector_changes`` log it reflects. A later process loads the file (also
in the background) and replays the changes after that position instead of
building again; a store saves its index again at close when it has applied
more than :data:`SAVE_AFTER_CHANGES` changes since.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from memosys.core.errors import missing_dependency
from memosys.stores.base import Vectors
from memosys.stores.sqlite.exit_hook import halt_at_exit
from memosys.stores.sqlite.freed_slots import Halves, no_halves

HNSW_CONNECTIVITY = 16
HNSW_EXPANSION_ADD = 128  # while building
# for each vector inserted into a built index: 0.29 ms of CPU instead of 0.51, and the same
# recall on 100k real vectors with a fifth inserted (benchmarks/hnsw_inserts.py)
HNSW_EXPANSION_INSERT = 64
# half-precision copies of the vectors, whose hits searches score again in float32; why
# f16 and 384 (measured against f32 at 256): :mod:`.vector_index`
HNSW_SCALAR = "f16"
HNSW_EXPANSION_SEARCH = 384
SYNC_BUILD_BELOW = 2_000  # smaller indexes build in the caller's thread (well under a second)
SAVE_AFTER_CHANGES = 200  # about what replaying at open costs a fraction of a second
BUILD_BATCH = 4_096  # vectors inserted between checks for a stop request


class BuildStopped(Exception):
    """A background build was asked to stop (the process is exiting)."""


def build_hnsw(
    dim: int, rowids: np.ndarray, matrix: Vectors, stop: threading.Event | None = None,
    alive: np.ndarray | None = None,
) -> Any:
    """A usearch inner-product HNSW index of unit vectors keyed by rowid, set to take
    later inserts at :data:`HNSW_EXPANSION_INSERT`.

    Rows where ``alive`` is False are left out. Vectors go in by batches; a set
    ``stop`` event ends the build between two.
    """
    try:
        # onnxruntime must be loaded before usearch: the reverse order segfaults
        # (usearch 2.26 with onnxruntime 1.3x) when the embedder loads later.
        import onnxruntime  # noqa: F401
        from usearch.index import Index
    except ImportError as exc:  # pragma: no cover - usearch is a core dependency
        raise missing_dependency("usearch", "core") from exc
    index: Any = Index(  # Any: usearch's setter of expansion_add is hidden from mypy
        ndim=dim,
        metric="ip",
        dtype=HNSW_SCALAR,
        connectivity=HNSW_CONNECTIVITY,
        expansion_add=HNSW_EXPANSION_ADD,
        expansion_search=HNSW_EXPANSION_SEARCH,
    )
    for start in range(0, len(rowids), BUILD_BATCH):
        if stop is not None and stop.is_set():
            raise BuildStopped
        keys, rows = rowids[start : start + BUILD_BATCH], matrix[start : start + BUILD_BATCH]
        if alive is not None:
            keep = alive[start : start + BUILD_BATCH]
            keys, rows = keys[keep], rows[keep]
        if len(keys):
            index.add(keys.astype(np.uint64), rows, threads=build_threads())
    index.expansion_add = HNSW_EXPANSION_INSERT
    return index


def sync_keys(
    index: Any, keys: np.ndarray, rowids: np.ndarray, matrix: Vectors,
    alive: np.ndarray | None = None,
) -> Halves:
    """Bring ``keys`` of ``index`` in line with the sorted ``rowids``/``matrix`` (rows
    marked dead in ``alive`` count as absent): drop them all, add back those present.
    Returns the vectors dropped (see :func:`remove_keys`)."""
    if len(keys) == 0:
        return no_halves(index.ndim)
    keys = np.unique(keys)
    dropped = remove_keys(index, keys)
    pos = np.searchsorted(rowids, keys)
    present = pos < len(rowids)
    present[present] = rowids[pos[present]] == keys[present]
    if alive is not None:
        present[present] = alive[pos[present]]
    if present.any():
        index.add(keys[present].astype(np.uint64), matrix[pos[present]], threads=build_threads())
    return dropped


def remove_keys(index: Any, keys: np.ndarray) -> Halves:
    """Remove ``keys`` from ``index``; the stored vectors of those it held, whose bytes
    stay in their freed slots until reused (:mod:`.freed_slots`)."""
    keys = keys.astype(np.uint64)
    held = keys[np.asarray(index.contains(keys), dtype=bool)]
    if len(held) == 0:
        return no_halves(index.ndim)
    stored = np.stack(index.get(held, dtype=np.float16))
    index.remove(held)
    return stored


def build_threads() -> int:
    """Threads for HNSW inserts: all cores but one, so searches keep a core."""
    return max(1, (os.cpu_count() or 2) - 1)


class Builder:
    """Runs ``job(stop)`` (which returns an index) in a daemon thread; :attr:`result` is
    set when done.

    A process that exits while a build runs first stops it (between two batches)
    and waits for it: native code still running in a daemon thread at
    interpreter shutdown aborts the process.
    """

    def __init__(self, job: Callable[[threading.Event], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.stop = threading.Event()
        halt_at_exit(self)
        self._thread = threading.Thread(
            target=self._run, args=(job,), name="memosys-hnsw-build", daemon=True
        )
        self._thread.start()

    def _run(self, job: Callable[[threading.Event], Any]) -> None:
        try:
            self.result = job(self.stop)
        except BaseException as exc:  # handed to the searching thread, which re-raises it
            self.error = exc

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job; True when it has finished."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def halt(self) -> None:
        """Stop the build between two batches and wait for it (at exit)."""
        self.stop.set()
        self.join()
