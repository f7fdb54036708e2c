"""Per-cube in-memory vector indexes, kept in step with the ``vectors`` table.

A cube's vectors are loaded on its first search with one query. After that,
every change to ``vectors`` (by this process or another) is found in the
``vector_changes`` log, which triggers fill: before a search the cache reads
the log entries after the last one it applied and updates the loaded cubes.
``PRAGMA data_version`` tells cheaply whether another connection committed
(each connection counts its own, so the last value is kept per connection),
and :meth:`VectorCache.mark_dirty` does the same for this store's writes, so
a search with nothing new costs no extra query.

Applying the log only puts new vectors in a cube's matrix; a background
thread (:mod:`.follower`) then inserts them into the HNSW index a few at a
time, and searches score the ones still waiting exactly. So a search never
waits for a write's HNSW inserts (about 0.55 ms per vector at 100k memories),
only for the few in hand when it comes.

Reads run on several threads at once: a lock guards the cache's catch-up,
and each :class:`CubeVectors` guards its own arrays.

Shared indexes (``shared=True``, for ``serve --workers``): each process would
otherwise insert every write of every process into its own HNSW copy, which
took most of a worker's CPU under writes (``benchmarks/server_load.py
--workers 3``). Instead, one process keeps each large cube's index (a lock
file, :meth:`.AnnFiles.keep`): the one that claimed it
(:meth:`VectorCache.claim_large`: ``serve --workers``' parent, see
:mod:`.index_keeper`), else the first to load the cube. The keeper inserts
the writes and saves the index every :data:`PUBLISH_AFTER` changes (more in a
large cube), or fewer after :data:`PUBLISH_EVERY_S`. The other processes are
viewers: they map the latest saved file read-only, and their background
thread adopts a newer one at most every :data:`VIEW_CHECK_S`; a search scores
the vectors changed since exactly. A cube loaded small takes its role when it
grows large. A viewer takes over when the keeper is gone, and keeps its own
index when more than :data:`VIEW_PENDING_LIMIT` changes wait. HNSW keeps a
removed vector's bytes, and a deleted memory's vector must not stay in a
file: saves zero them (:mod:`.freed_slots`), and a process keeping its own
index saves it once many wait.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import defaultdict
from functools import partial
from pathlib import Path
from typing import IO

import numpy as np

from memosys.core.errors import StoreError
from memosys.stores.base import Vectors
from memosys.stores.sqlite.ann import SAVE_AFTER_CHANGES
from memosys.stores.sqlite.ann_files import AnnFiles, SavedIndex
from memosys.stores.sqlite.change_log import last_position, prune_log
from memosys.stores.sqlite.follower import Follower
from memosys.stores.sqlite.vector_index import CubeVectors, RowIds, Save, Saved

LOAD_CHUNK = 8_192  # rows fetched at a time when loading a cube
PRUNE_KEEP = 100_000  # log entries kept; a process further behind reloads its cubes
INSERT_CHUNK = 8  # vectors inserted into HNSW at a time (a search waits for one chunk at most)
HEADROOM = 4_096  # spare rows of a loaded cube; below half that, grown ahead outside the locks
# changes after which a keeper saves the shared index: this many, or a hundredth of the
# cube if more (a save takes about 0.2 s at 100k vectors, and grows with the cube)
PUBLISH_AFTER = 2_000
# seconds after which a keeper also saves fewer changes (times the cube's size in 100k
# vectors), so that the viewers do not score them exactly for good once writes stop
PUBLISH_EVERY_S = 5.0
WAKE_MIN_S = 0.1  # the shortest wait before a round that no write nudged
VIEW_CHECK_S = 1.0  # how often a viewer looks for a newer saved index
VIEW_PENDING_LIMIT = 20_000  # changed vectors past which a viewer keeps its own index


class VectorCache:
    """Loaded cubes and the last change-log entry applied to them."""

    def __init__(
        self, ann_threshold: int, ann_folder: Path | None = None, *, shared: bool = False
    ) -> None:
        self.ann_threshold = ann_threshold
        self._files = AnnFiles(ann_folder)
        self._shared = shared and ann_folder is not None
        self._keeping: dict[str, IO[str]] = {}  # shared cubes this process keeps: their locks
        self._next_look: dict[str, float] = {}  # when a viewer looks for a newer index next
        self._undecided: set[str] = set()  # shared cubes loaded small: no role yet
        self._stopping = threading.Event()  # set at close: no more wake-ups
        self._saved_at: dict[str, float] = {}  # when a keeper last saved a cube's index
        self._wake: threading.Timer | None = None  # nudges the background thread later
        self._cubes: dict[str, CubeVectors | None] = {}  # None: a cube without vectors
        self._seq = 0
        self._data_versions: dict[int, int] = {}  # by id() of the (long-lived) connection
        self._dirty = True
        self.lock = threading.RLock()  # guards the fields above
        self._inserter = Follower("memosys-hnsw-insert", self._insert_pending)

    def mark_dirty(self) -> None:
        """This store changed vectors: read the log before the next search."""
        with self.lock:
            self._dirty = True

    def catch_up(self, conn: sqlite3.Connection) -> None:
        """Apply the change log to the loaded cubes now: a write calls this after its
        commit, so reading the log is its cost, not the next search's."""
        with self.lock:
            loaded = tuple(self._cubes)
        self._make_room(loaded)
        with self.lock:
            if self._cubes:
                self._refresh(conn, ())

    def wait_inserted(self, timeout: float | None = None) -> bool:
        """Wait until the vectors applied so far are in their HNSW indexes; False on
        timeout."""
        return self._inserter.wait_idle(timeout)

    def close(self) -> None:
        """Stop the background inserts (what still waits is inserted when saving)."""
        self._stopping.set()
        with self.lock:
            if self._wake is not None:
                self._wake.cancel()
        self._inserter.close()

    def cubes(self, conn: sqlite3.Connection, cube_ids: tuple[str, ...]) -> list[CubeVectors]:
        """The up-to-date indexes of these cubes (cubes without vectors are left out)."""
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        with self.lock:
            missing = [c for c in cube_ids if c not in self._cubes]
            if self._dirty or missing or version != self._data_versions.get(id(conn)):
                self._refresh(conn, cube_ids)
                self._data_versions[id(conn)] = version
            for cube_id in cube_ids:
                index = self._cubes[cube_id]
                if index is not None and index.viewing and index.view_seq < 0:
                    self._view_first(conn, cube_id, index, self._seq)
            return [ix for c in cube_ids if (ix := self._cubes[c]) is not None]

    def _refresh(self, conn: sqlite3.Connection, cube_ids: tuple[str, ...]) -> None:
        conn.execute("BEGIN")  # one snapshot for the log position and the loads
        try:
            last = last_position(conn, "vector_changes")
            self._catch_up(conn, last)
            for cube_id in cube_ids:
                if cube_id not in self._cubes:
                    self._cubes[cube_id] = self._load(conn, cube_id, last)
            if self._undecided:
                self._decide_roles(last)
            self._seq = last
        finally:
            conn.execute("COMMIT")
        self._dirty = False
        if any(index is not None and self._has_work(index) for index in self._cubes.values()):
            self._inserter.nudge()

    def _has_work(self, index: CubeVectors) -> bool:
        """Whether the background round has work for a loaded index: vectors to insert, a
        shared index's changes to save or to look past (removals too), or removed vectors
        to forget by saving."""
        if self._shared:
            return bool(index.pending or index.unviewed or (index.unsaved and not index.viewing))
        return bool(index.pending) or _holds_many_removed(index)

    def _make_room(self, cube_ids: tuple[str, ...]) -> None:
        """Grow these loaded cubes' arrays ahead of the writes, outside :attr:`lock`: a
        growth within it held up every search of the process (see
        :meth:`CubeVectors.make_room`)."""
        for cube_id in cube_ids:
            if (index := self._cubes.get(cube_id)) is not None:
                index.make_room(HEADROOM // 2)

    def _insert_pending(self) -> None:
        """Insert the pending vectors into HNSW, after making room for the next writes
        (those of other processes come in with a search, which should not grow arrays)."""
        with self.lock:
            loaded = tuple(self._cubes)
            indexes = [(c, index) for c, index in self._cubes.items() if index is not None]
        self._make_room(loaded)
        for cube_id, index in indexes:
            while not self._inserter.closing and index.insert_pending(INSERT_CHUNK):
                pass
            if self._inserter.closing:
                continue
            if self._shared:
                self._follow_shared(cube_id, index)
            elif _holds_many_removed(index):
                self._save(cube_id, index)

    def _catch_up(self, conn: sqlite3.Connection, last: int) -> None:
        if last == self._seq or not self._cubes:
            return
        first = conn.execute("SELECT min(seq) FROM vector_changes").fetchone()[0]
        if first is None or first > self._seq + 1 or last < self._seq:
            self._cubes.clear()  # the log was pruned past us (or the file replaced): reload
            return
        rows = conn.execute(
            "SELECT c.cube_id, c.item_rowid, v.cube_id, v.vector FROM vector_changes c "
            "LEFT JOIN vectors v ON v.item_rowid = c.item_rowid "
            "WHERE c.seq > ? AND c.seq <= ? ORDER BY c.seq",
            (self._seq, last),
        ).fetchall()
        removed: dict[str, list[int]] = defaultdict(list)
        current: dict[int, tuple[str, bytes]] = {}
        for old_cube, rowid, new_cube, blob in rows:
            removed[old_cube].append(rowid)
            if blob is not None:
                current[rowid] = (new_cube, blob)
        for cube_id, rowids in removed.items():
            if (index := self._cubes.get(cube_id)) is not None:
                index.remove(np.array(rowids, dtype=np.int64), last)
        added: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
        for rowid, (cube_id, blob) in current.items():
            added[cube_id].append((rowid, blob))
        for cube_id, entries in added.items():
            if cube_id not in self._cubes:
                continue
            index = self._cubes[cube_id]
            dim = len(entries[0][1]) // 4
            if index is None or index.dim != dim or any(len(b) != dim * 4 for _, b in entries):
                del self._cubes[cube_id]  # new embedder or first vectors: reload on demand
                continue
            index.upsert(*_arrays(entries, dim), last)

    def _load(self, conn: sqlite3.Connection, cube_id: str, last: int) -> CubeVectors | None:
        """A cube's vectors, read in rowid order straight into one matrix."""
        count = conn.execute("SELECT count(*) FROM vectors WHERE cube_id = ?", (cube_id,))
        total = int(count.fetchone()[0])
        if total == 0:
            return None
        cursor = conn.execute(
            "SELECT item_rowid, vector FROM vectors WHERE cube_id = ? ORDER BY item_rowid",
            (cube_id,),
        )
        first = cursor.fetchmany(LOAD_CHUNK)
        dim = len(first[0][1]) // 4
        rowids = np.empty(total + HEADROOM, dtype=np.int64)  # the spare rows stay untouched
        matrix = np.empty((total + HEADROOM, dim), dtype=np.float32)
        done = 0
        rows = first
        while rows and done < total:
            chunk = rows[: total - done]
            rowids[done : done + len(chunk)], matrix[done : done + len(chunk)] = _arrays(chunk, dim)
            done += len(chunk)
            rows = cursor.fetchmany(LOAD_CHUNK)
        large = done > self.ann_threshold
        saved = self._saved_index(conn, cube_id, dim, last) if large else None
        viewer = large and self._shared and not self._keep(cube_id)
        start_from: Saved | None = None
        if saved is not None and not viewer:
            start_from = partial(self._files.load, saved[0], dim), saved[1]
        saves = self._files.folder is not None
        index = CubeVectors(
            dim, self.ann_threshold, partial(self._saver, cube_id, dim) if saves else None,
            start_from,
        )
        index.load_sorted(rowids, matrix, done)
        if viewer:
            index.become_viewer(last)
            self._view_first(conn, cube_id, index, last)
        elif self._shared and not large:
            self._undecided.add(cube_id)
        return index

    def _view_first(
        self, conn: sqlite3.Connection, cube_id: str, index: CubeVectors, last: int
    ) -> None:
        """A viewer without a view adopts the saved index, if any, with the changes the log
        holds between it and ``last`` (the position the loaded vectors reflect); it looks
        at most every :data:`VIEW_CHECK_S`."""
        now = time.monotonic()
        if now < self._next_look.get(cube_id, 0.0):
            return
        self._next_look[cube_id] = now + VIEW_CHECK_S
        saved = self._saved_index(conn, cube_id, index.dim, last)
        view = self._files.view(saved[0], index.dim) if saved is not None else None
        if view is not None and saved is not None:
            index.adopt_view(view, saved[0].seq, saved[1])

    def _decide_roles(self, last: int) -> None:
        """Shared cubes that have grown large since they were loaded take their role now,
        before a search builds them an index: keeper, or viewer of the changes after
        ``last`` (an index saved before ``last`` is then left alone)."""
        for cube_id in list(self._undecided):
            index = self._cubes.get(cube_id)
            if index is not None and index.count <= self.ann_threshold:
                continue
            self._undecided.discard(cube_id)
            if index is not None and not self._keep(cube_id):
                index.become_viewer(last)

    def claim_large(self, conn: sqlite3.Connection) -> list[str]:
        """Keep the shared index of every cube of more than ``ann_threshold`` vectors that
        no other process keeps yet (a process that serves no searches, so that its saves
        and inserts hold up none: ``serve --workers``' parent); the cubes it keeps."""
        if not self._shared:
            return []
        large = conn.execute(
            "SELECT cube_id FROM vectors GROUP BY cube_id HAVING count(*) > ?",
            (self.ann_threshold,),
        ).fetchall()
        with self.lock:
            return [cube_id for (cube_id,) in large if self._keep(cube_id)]

    def follow_kept(self, conn: sqlite3.Connection) -> None:
        """Bring the cubes this process keeps up to date without a search: load them, apply
        the log, start their HNSW build (or load) and adopt it once done; the background
        thread inserts the changes and saves the index."""
        with self.lock:
            kept = tuple(self._keeping)
        if not kept:
            return  # no cube to follow: not even the change log is read
        for index in self.cubes(conn, kept):
            if index.approximate:
                index.start_ann()

    def _keep(self, cube_id: str) -> bool:
        """Whether this process keeps the cube's shared index (now or from now on); call
        it holding :attr:`lock`."""
        if cube_id not in self._keeping and (lock := self._files.keep(cube_id)) is not None:
            self._keeping[cube_id] = lock
        return cube_id in self._keeping

    def _follow_shared(self, cube_id: str, index: CubeVectors) -> None:
        """A shared cube's part of the background round: a keeper saves, a viewer looks
        for a newer saved index. Either wakes itself up while changes wait."""
        if index.viewing:
            self._look_for_newer(cube_id, index)
        elif cube_id in self._keeping and index.unsaved:
            self._publish(cube_id, index)

    def _publish(self, cube_id: str, index: CubeVectors) -> None:
        """Save a keeper's index after :data:`PUBLISH_AFTER` changes or a hundredth of the
        cube, or its last changes after :data:`PUBLISH_EVERY_S`."""
        now = time.monotonic()
        due = self._saved_at.setdefault(cube_id, now) + PUBLISH_EVERY_S * max(
            1.0, index.count / 100_000
        )
        if index.unsaved < max(PUBLISH_AFTER, index.count // 100) and now < due:
            self._wake_at(due - now)
            return
        self._save(cube_id, index)
        self._saved_at[cube_id] = time.monotonic()

    def _save(self, cube_id: str, index: CubeVectors) -> None:
        with self.lock:
            seq = self._seq  # the index holds at least the changes up to here
        index.save_if_changed(1, partial(self._files.save, cube_id, seq=seq, dim=index.dim))

    def _look_for_newer(self, cube_id: str, index: CubeVectors) -> None:
        """A viewer adopts a newer saved index, at most every :data:`VIEW_CHECK_S`, and
        keeps its own once the keeper is gone or too many changed vectors wait."""
        now = time.monotonic()
        if now < self._next_look.get(cube_id, 0.0):
            self._wake_at(self._next_look[cube_id] - now)
            return
        self._next_look[cube_id] = now + VIEW_CHECK_S
        saved = self._files.saved(cube_id, index.dim)
        if saved is not None and saved.seq > index.view_seq:
            view = self._files.view(saved, index.dim)
            if view is not None:
                index.adopt_view(view, saved.seq)
        with self.lock:
            keeps = self._keep(cube_id)
        if keeps or index.pending > VIEW_PENDING_LIMIT:
            viewed = saved if saved is not None and saved.seq == index.view_seq else None
            index.keep_own(partial(self._files.load, viewed, index.dim) if viewed else None)
        elif index.unviewed:
            self._wake_at(VIEW_CHECK_S)  # look again, even if no write comes

    def _wake_at(self, delay_s: float) -> None:
        """Run the background thread's round again in ``delay_s`` (at least
        :data:`WAKE_MIN_S`) without a write to nudge it, unless a wake-up is set already."""
        with self.lock:
            if self._stopping.is_set() or (self._wake is not None and self._wake.is_alive()):
                return
            self._wake = threading.Timer(max(delay_s, WAKE_MIN_S), self._inserter.nudge)
            self._wake.daemon = True
            self._wake.start()

    def forget_cubes(self, cube_ids: list[str], seq: int) -> None:
        """Drop these (removed) cubes' loaded indexes and saved HNSW files; ``seq``: the
        log position of the removal."""
        for cube_id in cube_ids:
            self._cubes.pop(cube_id, None)
            self._undecided.discard(cube_id)
            if (lock := self._keeping.pop(cube_id, None)) is not None:
                lock.close()
        self.remove_saved(cube_ids, seq)

    def remove_saved(self, cube_ids: list[str], seq: int) -> None:
        """Delete these cubes' saved HNSW files (vectors were forgotten at log position
        ``seq``): the keeper saves anew once it has taken the removals in, zeroed."""
        for cube_id in cube_ids:
            self._files.remove(cube_id, seq)
        self.mark_dirty()

    def save_indexes(self) -> None:
        """Save the HNSW indexes that changed enough since they were saved, or that lost
        vectors (:mod:`.freed_slots`), and let other processes keep the shared ones (at
        close)."""
        with self.lock:
            for cube_id, index in self._cubes.items():
                if index is not None:
                    index.save_if_changed(
                        1 if index.removed_held else SAVE_AFTER_CHANGES,
                        partial(self._files.save, cube_id, seq=self._seq, dim=index.dim),
                    )
            for lock in self._keeping.values():
                lock.close()
            self._keeping.clear()

    def _saver(self, cube_id: str, dim: int) -> Save:
        """What saves a cube's index once built; the log position is taken now, at the start."""
        return partial(self._files.save, cube_id, seq=self._seq, dim=dim)

    def _saved_index(
        self, conn: sqlite3.Connection, cube_id: str, dim: int, last: int
    ) -> tuple[SavedIndex, RowIds] | None:
        """The saved index of a cube to start from, if the change log still reaches it,
        and the rowids changed since it was saved."""
        saved = self._files.saved(cube_id, dim)
        if saved is None:
            return None
        seq = saved.seq
        first = conn.execute("SELECT min(seq) FROM vector_changes").fetchone()[0]
        if seq > last or (first is not None and first > seq + 1):
            return None  # saved by another database, or the log no longer reaches back to it
        changed = conn.execute(
            "SELECT item_rowid FROM vector_changes WHERE cube_id = ? AND seq > ? AND seq <= ?",
            (cube_id, seq, last),
        ).fetchall()
        return saved, np.array([r for (r,) in changed], dtype=np.int64)


def _holds_many_removed(index: CubeVectors) -> bool:
    """Whether a process keeping its own index should save it to forget the removed
    vectors it no longer holds (:data:`PUBLISH_AFTER`, or a hundredth of the cube)."""
    return index.removed_held > max(PUBLISH_AFTER, index.count // 100)


def _arrays(entries: list[tuple[int, bytes]], dim: int) -> tuple[RowIds, Vectors]:
    """Rowids and a (read-only) float32 matrix view of ``(rowid, blob)`` rows."""
    blob = b"".join(b for _, b in entries)
    if len(blob) != len(entries) * dim * 4:
        raise StoreError(
            "a cube holds vectors of different sizes; run `memosys reembed --data DIR --all-users`"
        )
    rowids = np.fromiter((r for r, _ in entries), dtype=np.int64, count=len(entries))
    return rowids, np.frombuffer(blob, dtype="<f4").reshape(-1, dim)


def prune_changes(conn: sqlite3.Connection) -> None:
    """Trim the change log to its last :data:`PRUNE_KEEP` entries once it is twice that long."""
    prune_log(conn, "vector_changes", PRUNE_KEEP)
