"""In-memory vector index of one cube: exact numpy scoring, HNSW above a threshold.

The unit-normalised float32 vectors of a cube live in one matrix, with the
item rowids as keys (kept sorted, so lookups are ``searchsorted``). Search is
exact (``einsum`` matrix-vector product + ``argpartition``) up to
``ann_threshold`` vectors, and approximate with a usearch HNSW index above it.
Vectors written once the HNSW index exists wait in a pending set, which
searches score exactly, until :meth:`CubeVectors.insert_pending` (called by
a background thread of :mod:`.vector_cache`) puts them into HNSW.

Library choice, by measurement (``benchmarks/vector_index.py``, results in
``benchmarks/results/vector_index.json``; 384-d clustered unit vectors, k=10,
single queries, M=16 / ef_construction=128, on the shared 2-core machine):

=================  ========  ===========  ===============  ==========  ======
library             n        build        p50 / p95 ms     recall@10   memory
=================  ========  ===========  ===============  ==========  ======
numpy exact         100k     -            6.1 / 7.4        1.0         147 MB
usearch f32 ef128   100k     72 s         0.36 / 0.84      0.9995      181 MB
hnswlib ef128       100k     40 s         0.19 / 0.36      1.0         168 MB
sqlite-vec          100k     0.9 s        41 / 90          1.0         154 MB
numpy exact         1M       -            72 / 200         1.0         1.5 GB
usearch f32 ef128   1M       1285 s       0.97 / 5.2       0.94        1.7 GB
usearch i8 ef128    1M       563 s        0.40 / 4.5       0.81        0.6 GB
hnswlib ef128       1M       578 s        0.29 / 0.79      0.98        1.6 GB
sqlite-vec          1M       8 s          385 / 398        1.0         1.6 GB
=================  ========  ===========  ===============  ==========  ======

* Exact numpy (``einsum``: single-threaded SIMD; a threaded BLAS ``matrix @ q``
  is slower and jittery on two cores) is the path up to ``ann_threshold``
  (default 50k, ~3 ms; at 100k exact search alone would take most of the
  8 ms that text and vector search get together).
* sqlite-vec 0.1 is brute force (no ANN), slower than numpy, and needs a
  Python built with extension loading (this one is not).
* usearch i8 loses too much recall on these vectors.
* hnswlib measured best: half the build time, 3x faster queries and higher
  recall than usearch at the same parameters. It ships no wheels (0.8.0,
  2023: every install compiles C++) and cannot free deleted slots. Its fork
  ``chroma-hnswlib`` (0.7.6) has wheels; on the 100k real vectors of the
  search benchmark it searched in 0.68 ms against usearch 2.26's 1.06
  (``expansion_search`` 256, same recall) and inserted in 0.42 ms against
  0.62. Swapped in for a trial, one thread searched 156-166 times/s against
  137-140, but a second thread added nothing (1.2 cores used either way: the
  rest of a search holds the interpreter lock). It stays out: a fork kept
  for one product is a weaker dependency than usearch, for about a tenth of
  a search's CPU. Both release the interpreter lock while they search or
  insert: a pure-Python thread beside a loop of usearch 2.26 adds or
  searches kept its speed (2026-11-27), while those calls took 4-7 times
  longer, waiting to take the lock back.

Shipped: **usearch** in half precision (f16) with ``expansion_search`` 384,
its hits scored again on the float32 rows (``benchmarks/hnsw_precision.py``).
Against f32 at 256, on the 100k real vectors of the search benchmark: search
0.96-0.97 ms against 1.01 of CPU, inserts 0.35-0.36 against 0.56-0.57, builds
12-15 s against 20, 89 MB saved against 164, recall@10 0.9992-1.0 against
0.9995-0.9997 and recall@100 0.997 against 0.994; on 1M clustered vectors,
recall@10 0.993 against 0.991, builds 190 s against 311, 876 MB against 1.6 GB.
usearch because it is already a core dependency with wheels for every
platform, is maintained, removes keys for real, and saves/loads indexes.
Its slower build is paid once, in a background thread, and the index is
saved beside the database (:mod:`.ann`). Swapping in hnswlib would touch only
:func:`.ann.build_hnsw` and the save/load calls, if compiling at install
becomes acceptable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from itertools import islice
from typing import Any

import numpy as np
import numpy.typing as npt

from memosys.core.errors import StoreError
from memosys.stores.base import Vectors
from memosys.stores.sqlite.ann import (
    SYNC_BUILD_BELOW,
    Builder,
    build_hnsw,
    build_threads,
    remove_keys,
    sync_keys,
)
from memosys.stores.sqlite.freed_slots import Halves, no_halves, without_live_twins

RowIds = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]

# Saves an index with the removed vectors whose bytes it may still hold zeroed; which of
# them it found (None: not saved). See :mod:`.freed_slots`.
Save = Callable[[Any, Halves], npt.NDArray[np.bool_] | None]
# Called when a build starts; returns what saves the built index.
OnBuild = Callable[[], Save]
# A saved index to start from: a loader (slow, run in the background, None when
# unreadable) and the rowids changed since it was saved.
Saved = tuple[Callable[[], Any], RowIds]


class CubeVectors:
    """The vectors of one cube, keyed by item rowid.

    A *viewer* (:meth:`become_viewer`) builds and inserts nothing: it searches a
    read-only HNSW copy that another process keeps (:meth:`adopt_view`), and
    scores exactly the vectors changed after the log position that copy
    reflects, until it adopts a newer one or keeps its own index
    (:meth:`keep_own`).
    """

    def __init__(
        self, dim: int, ann_threshold: int, on_build: OnBuild | None = None,
        saved: Saved | None = None,
    ) -> None:
        self.dim = dim
        self.ann_threshold = ann_threshold
        self.on_build = on_build
        self._saved = saved
        self._rowids: RowIds = np.empty(0, dtype=np.int64)
        self._matrix: Vectors = np.empty((0, dim), dtype=np.float32)
        self._alive = np.empty(0, dtype=bool)
        self._size = 0  # rows in use; the arrays may hold spare capacity
        self._dead = 0
        self._ann: Any = None
        self._builder: Builder | None = None
        self._touched: set[int] = set()  # rowids changed while a build runs
        self._build_failed = False
        self._unsaved = 0  # changes applied to the HNSW index since it was saved
        # rowids whose current vector is not in the HNSW index yet (scored exactly), with
        # the log position they were changed by (at most that)
        self._pending: dict[int, int] = {}
        self._viewer = False
        self._view_seq = -1  # the log position the viewed copy reflects (-1: none yet)
        self._viewing_since = -1  # a viewer records the changes after this log position
        self._gone: dict[int, int] = {}  # a viewer's rowids removed since, with their position
        self._removals = 0  # calls of remove() that removed vectors
        # stored vectors removed from this process's own index whose bytes it may still hold
        self._removed: list[Halves] = []
        self._lock = threading.RLock()  # searches run on several threads; changes one at a time
        self._growing = threading.Lock()  # held by the thread growing the arrays ahead

    @property
    def count(self) -> int:
        """How many vectors the cube holds."""
        return self._size - self._dead

    @property
    def approximate(self) -> bool:
        """Whether :meth:`search` goes through HNSW (above the threshold, once it is built)."""
        return self.count > self.ann_threshold and not self._build_failed

    def save_if_changed(self, at_least: int, save: Save) -> bool:
        """Insert every pending vector and ``save`` the HNSW index (holding the lock, so
        nothing changes it meanwhile) when ``at_least`` changes were applied since it was
        last saved; whether it was saved. A viewer saves nothing."""
        with self._lock:
            if self._ann is None or self._viewer or self._unsaved < at_least:
                return False
            self._insert(len(self._pending))
            removed = self._removed_not_live()
            found = save(self._ann, removed)
            if found is None:
                return False  # the changes stay unsaved: the next round tries again
            self._removed = [removed[found]]
            self._unsaved = 0
            return True

    @property
    def unsaved(self) -> int:
        """Changes applied to the HNSW index since it was last saved."""
        return self._unsaved

    @property
    def removed_held(self) -> int:
        """Vectors removed from this process's own index that it may still hold the bytes
        of (a save forgets those it no longer holds)."""
        return sum(len(removed) for removed in self._removed)

    def _held_removed(self, removed: Halves) -> None:
        """Note vectors removed from the own index, which a save must zero (an index that
        is never saved notes none)."""
        if self.on_build is not None and len(removed):
            self._removed.append(removed)

    def _removed_not_live(self) -> Halves:
        """The removed vectors the index may still hold the bytes of, less those a live
        vector holds too."""
        removed = np.concatenate([no_halves(self.dim), *self._removed])
        live = self._alive[: self._size]
        return without_live_twins(removed, self._ann, self._rowids[: self._size][live],
                                  self._matrix[: self._size, :4][live])

    @property
    def viewing(self) -> bool:
        """Whether this is a viewer (searching another process's index, or waiting for one)."""
        return self._viewer

    @property
    def view_seq(self) -> int:
        """The log position that the viewed index reflects (-1: none viewed)."""
        return self._view_seq

    def become_viewer(self, since: int) -> bool:
        """Search another process's saved index from now on, recording the changes after
        log position ``since`` (the vectors loaded up to it); False when this one has an
        index of its own already (built, or building)."""
        with self._lock:
            if self._ann is not None or self._builder is not None:
                return False
            self._viewer, self._viewing_since = True, since
            self._pending, self._gone = {}, {}
            return True

    def adopt_view(self, view: Any, seq: int, changed: RowIds | None = None) -> None:
        """Search ``view``, a read-only index reflecting the log up to ``seq``, from now on.

        Vectors changed after ``seq`` are scored exactly: those this viewer applied since
        (it keeps their positions), and ``changed`` (the rowids changed between ``seq``
        and the position it records from, read from the log: needed for a view older
        than that position, which is otherwise left alone).
        """
        with self._lock:
            if not self._viewer or seq < self._view_seq:
                return
            if seq < self._viewing_since and changed is None:
                return  # changes between the two would be neither viewed nor scored
            self._ann, self._view_seq = view, seq
            self._pending = {r: at for r, at in self._pending.items() if at > seq}
            self._gone = {r: at for r, at in self._gone.items() if at > seq}
            if changed is not None and len(changed):
                live = set(self._rowids[self._live_positions(changed)].tolist())
                for rowid in changed.tolist():
                    if rowid in live:
                        self._pending[rowid] = seq + 1
                    else:
                        self._gone[rowid] = seq + 1

    def keep_own(self, load: Callable[[], Any] | None) -> None:
        """Stop viewing: keep an index of this process's own, the viewed file loaded
        writable by ``load`` (None: built anew) and brought up to date, in the background."""
        with self._lock:
            if not self._viewer:
                return
            changed = np.fromiter([*self._pending, *self._gone], dtype=np.int64)
            self._ann = None  # before anything else: a view must never be changed
            self._viewer, self._view_seq = False, -1
            self._pending, self._gone = {}, {}
            self._saved = (load, changed) if load is not None else None
        self.start_ann()

    @property
    def unviewed(self) -> int:
        """How many changes a viewer applied after the index it views (searches score
        them exactly or leave them out)."""
        return len(self._pending) + len(self._gone) if self._viewer else 0

    @property
    def pending(self) -> int:
        """How many vectors wait to go into the HNSW index (searches score them exactly)."""
        return len(self._pending)

    def insert_pending(self, at_most: int) -> int:
        """Insert up to ``at_most`` pending vectors into the HNSW index; how many still wait
        (0 for a viewer, which inserts nothing)."""
        with self._lock:
            self._insert(at_most)
            return len(self._pending) if self._ann is not None and not self._viewer else 0

    def load_sorted(self, rowids: RowIds, matrix: Vectors, size: int) -> None:
        """Take over arrays whose first ``size`` rows are the fresh index's content, in
        strictly increasing rowid order (no copy; the rows after are spare room)."""
        with self._lock:
            self._rowids, self._matrix = rowids, matrix
            self._alive = np.ones(len(rowids), dtype=bool)
            self._size = size

    def make_room(self, rows: int) -> None:
        """Grow the arrays ahead when fewer than ``rows`` spare rows are left. The new
        memory is allocated and touched without the lock, which is most of a growth's
        cost (0.35 s for 100k vectors here); only the copy into it holds the lock (8 ms).
        A call while another thread grows them returns at once."""
        old, size = self._rowids, self._size  # read without the lock: a hint
        if len(old) - size >= rows or not self._growing.acquire(blocking=False):
            return
        try:
            self._grow_ahead(old, size, rows)
        finally:
            self._growing.release()

    def _grow_ahead(self, old: RowIds, size: int, rows: int) -> None:
        capacity = _larger_capacity(len(old), size + rows)
        rowids = np.empty(capacity, dtype=np.int64)
        matrix = np.empty((capacity, self.dim), dtype=np.float32)
        alive = np.empty(capacity, dtype=bool)
        matrix[: size + rows] = 0  # touch the pages the copy and the next rows will use
        with self._lock:
            if self._rowids is not old or self._size > capacity:
                return  # grown, compacted or reordered meanwhile
            size = self._size
            rowids[:size], matrix[:size] = self._rowids[:size], self._matrix[:size]
            alive[:size] = self._alive[:size]
            self._rowids, self._matrix, self._alive = rowids, matrix, alive

    def join_build(self, timeout: float | None = None) -> None:
        """Wait for a background build, if one runs (call without the store lock)."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)

    def upsert(self, rowids: RowIds, matrix: Vectors, seq: int = 0) -> None:
        """Add or overwrite vectors (unit rows of ``dim`` floats), changed at log position
        ``seq`` at most."""
        with self._lock:
            if len(rowids) == 0:
                return
            order = np.argsort(rowids, kind="stable")
            rowids, matrix = rowids[order], matrix[order]
            pos, found = self._positions(rowids)
            if found.any():
                self._dead -= int((~self._alive[pos[found]]).sum())
                self._matrix[pos[found]] = matrix[found]
                self._alive[pos[found]] = True
            fresh = ~found
            if fresh.any():
                self._append(rowids[fresh], matrix[fresh])
            if self._ann is not None or self._viewer:
                if found.any() and not self._viewer:
                    self._held_removed(remove_keys(self._ann, rowids[found]))
                self._pending.update(dict.fromkeys(rowids.tolist(), seq))
                self._unsaved += len(rowids)
            elif self._builder is not None:
                self._touched.update(rowids.tolist())

    def remove(self, rowids: RowIds, seq: int = 0) -> None:
        """Drop vectors, removed at log position ``seq`` at most; unknown rowids are
        ignored."""
        with self._lock:
            hit = self._live_positions(rowids)
            if len(hit) == 0:
                return
            self._alive[hit] = False
            self._dead += len(hit)
            self._removals += 1
            if self._ann is not None or self._viewer:
                gone = self._rowids[hit]
                if not self._viewer:
                    self._held_removed(remove_keys(self._ann, gone))
                for rowid in gone.tolist():
                    self._pending.pop(rowid, None)
                    if self._viewer:
                        self._gone[rowid] = seq
                self._unsaved += len(hit)
            elif self._builder is not None:
                self._touched.update(self._rowids[hit].tolist())
            if self._dead > max(1024, self._size // 4):
                self._compact()

    def search(self, query: Vectors, k: int) -> tuple[RowIds, Scores]:
        """The ``k`` best rowids and cosine scores, best first."""
        with self._lock:
            if k <= 0 or self.count == 0:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            if self.approximate:
                self._poll_builder()
            if self.approximate and self._ann is not None:
                # HNSW holds half-precision copies: its hits, and the vectors still
                # waiting to go in, are scored on the float32 rows. A view may still hold
                # rowids removed or changed since (more hits make up for them; a changed
                # one is pending too, and scored once). An index of one's own holds no
                # pending rowid: a change takes it out.
                stale = self.unviewed
                count = k + min(stale, k)
                found = np.asarray(self._ann.search(query, count).keys, dtype=np.int64)
                if self._pending:
                    waiting = np.fromiter(self._pending, dtype=np.int64, count=len(self._pending))
                    found = np.concatenate([found, waiting])
                    if self._viewer:
                        found = np.unique(found)
                return self._exact(query, found, k)
            scores = np.einsum("ij,j->i", self._matrix[: self._size], query)
            if self._dead:
                scores[~self._alive[: self._size]] = -np.inf
            top = self._top(self._rowids[: self._size], scores, min(k, self.count))
            if self.approximate:
                self.start_ann()  # after this search's exact answer, so it does not wait
            return top

    def score(self, query: Vectors, rowids: RowIds, k: int) -> tuple[RowIds, Scores]:
        """Exact scores of the given rowids (those held here), the ``k`` best first."""
        with self._lock:
            return self._exact(query, rowids, k)

    def start_ann(self) -> bool:
        """Whether the HNSW index is ready; starts loading or building it (in the
        background unless the cube is small)."""
        with self._lock:
            if self._viewer:
                return self._ann is not None
            self._poll_builder()
            if self._ann is None and self._builder is None:
                # Views, not copies: arrays are only replaced, never permuted in place, and
                # rows overwritten meanwhile are re-synced when the index is adopted.
                size = self._size
                job = partial(
                    self._make_index, self._rowids[:size], self._matrix[:size],
                    self._alive[:size].copy(), self._removals, self._saved,
                    self.on_build() if self.on_build is not None else None,
                )
                self._saved = None
                if self.count < SYNC_BUILD_BELOW:
                    self._ann = job(None)
                else:
                    self._builder = Builder(job)
            return self._ann is not None

    def _make_index(
        self, rowids: RowIds, matrix: Vectors, alive: npt.NDArray[np.bool_], removals: int,
        saved: Saved | None, on_built: Save | None,
        stop: threading.Event | None,
    ) -> Any:
        """The HNSW index of a snapshot (taken after ``removals`` calls of :meth:`remove`):
        the saved one brought up to date, or a new one."""
        if saved is not None:
            load, changed = saved
            index = load()
            if index is not None:
                # only this thread touches these while _ann is None
                self._held_removed(sync_keys(index, changed, rowids, matrix, alive))
                self._unsaved += len(changed)
                return index
        index = build_hnsw(self.dim, rowids, matrix, stop, alive)
        if on_built is not None and self._removals == removals:
            # not saved when a vector was removed meanwhile: it is in the build, still live
            on_built(index, no_halves(self.dim))
        return index

    def _poll_builder(self) -> None:
        builder = self._builder
        if builder is None or not builder.join(0):
            return
        self._builder = None
        touched, self._touched = self._touched, set()
        if builder.error is not None:
            self._build_failed = True
            raise StoreError(
                f"building the vector index failed: {builder.error}; this process now scores "
                "exactly (slower); free memory, or raise store.ann_threshold to stay exact"
            ) from builder.error
        keys = np.fromiter(touched, dtype=np.int64, count=len(touched))
        size = self._size
        self._held_removed(sync_keys(builder.result, keys, self._rowids[:size],
                                     self._matrix[:size], self._alive[:size]))
        self._unsaved += len(keys)
        self._ann = builder.result

    def _exact(self, query: Vectors, rowids: RowIds, k: int) -> tuple[RowIds, Scores]:
        pos = self._live_positions(rowids)
        if len(pos) == 0 or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        scores = np.einsum("ij,j->i", self._matrix[pos], query)
        return self._top(self._rowids[pos], scores, min(k, len(pos)))

    def _insert(self, at_most: int) -> None:
        """Move up to ``at_most`` pending vectors into the HNSW index (holding the lock)."""
        if self._ann is None or self._viewer or not self._pending or at_most <= 0:
            return
        batch = list(islice(self._pending, at_most))
        for rowid in batch:
            del self._pending[rowid]
        pos = self._live_positions(np.array(batch, dtype=np.int64))
        if len(pos):
            self._ann.add(self._rowids[pos].astype(np.uint64), self._matrix[pos],
                          threads=build_threads())

    @staticmethod
    def _top(rowids: RowIds, scores: Scores, k: int) -> tuple[RowIds, Scores]:
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return rowids[top], scores[top].astype(np.float32)

    def _live_positions(self, rowids: RowIds) -> npt.NDArray[np.intp]:
        """Where the live vectors of these rowids sit (others are left out)."""
        pos, found = self._positions(np.sort(rowids))
        pos = pos[found]
        return pos[self._alive[pos]]

    def _positions(self, rowids: RowIds) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
        keys = self._rowids[: self._size]
        pos = np.searchsorted(keys, rowids)
        found = pos < self._size
        found[found] = keys[pos[found]] == rowids[found]
        return pos, found

    def _append(self, rowids: RowIds, matrix: Vectors) -> None:
        need = self._size + len(rowids)
        if need > len(self._rowids):
            capacity = _larger_capacity(len(self._rowids), need)
            self._rowids = _grow(self._rowids, capacity)
            self._matrix = _grow(self._matrix, capacity)
            self._alive = _grow(self._alive, capacity)
        in_order = self._size == 0 or rowids[0] > self._rowids[self._size - 1]
        self._rowids[self._size : need] = rowids
        self._matrix[self._size : need] = matrix
        self._alive[self._size : need] = True
        self._size = need
        if not in_order:  # new arrays: a background build may be reading the old ones
            order = np.argsort(self._rowids[:need], kind="stable")
            self._rowids = self._rowids[order]
            self._matrix = self._matrix[order]
            self._alive = self._alive[order]

    def _compact(self) -> None:
        keep = self._alive[: self._size]
        self._rowids = self._rowids[: self._size][keep].copy()
        self._matrix = self._matrix[: self._size][keep].copy()
        self._alive = np.ones(len(self._rowids), dtype=bool)
        self._size = len(self._rowids)
        self._dead = 0


def _larger_capacity(capacity: int, need: int) -> int:
    """The rows the arrays grow to when they must hold ``need``: half as many again."""
    return max(need, int(capacity * 1.5) + 1024)


def _grow(array: npt.NDArray[Any], capacity: int) -> npt.NDArray[Any]:
    grown = np.empty((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown
