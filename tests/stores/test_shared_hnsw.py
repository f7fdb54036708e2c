"""Stores opened with ``shared_indexes`` share one HNSW index per large cube: the first
keeps it and saves it every few changes, the others search the saved file read-only
and score the vectors changed since exactly (what ``serve --workers`` runs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from store_helpers import FINGERPRINT, ItemFactory, unit, vector_cube

from memosys.core.clock import FixedClock
from memosys.core.items import MemoryItem
from memosys.settings import StoreSettings
from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore, index_keeper, vector_cache
from memosys.stores.sqlite.ann import build_hnsw
from memosys.stores.sqlite.vector_index import CubeVectors

SCOPE = Scope("u1", ("c1",))


@pytest.fixture
def open_shared(db_path: Path, clock: FixedClock) -> Iterator[Callable[[], SQLiteStore]]:
    """Open stores on the test database that share their HNSW indexes (closed at the end)."""
    opened: list[SQLiteStore] = []

    def _open() -> SQLiteStore:
        store = SQLiteStore(db_path, StoreSettings(ann_threshold=20), clock, shared_indexes=True)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


@pytest.fixture(autouse=True)
def _save_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """A keeper saves after 5 changes, and a viewer looks for a newer file every time."""
    monkeypatch.setattr(vector_cache, "PUBLISH_AFTER", 5)
    monkeypatch.setattr(vector_cache, "VIEW_CHECK_S", 0.0)


def _index(store: SQLiteStore) -> CubeVectors:
    index = store._vectors._cubes["c1"]
    assert index is not None
    return index


def _settle(*stores: SQLiteStore) -> None:
    """Let each store take in the changes and its background thread finish its round."""
    for store in stores:
        store.vector_search(SCOPE, np.eye(1, 16, dtype=np.float32)[0], None, 1)
        assert store._vectors.wait_inserted(timeout=30)


def _top(store: SQLiteStore, vector: np.ndarray) -> tuple[str, float]:
    [hit] = store.vector_search(SCOPE, vector, None, 1)
    return hit.id, round(hit.score, 4)


def _keeps_its_own_index_and_finds(
    store: SQLiteStore, items: list[MemoryItem], vectors: np.ndarray
) -> None:
    """``store`` stopped viewing, built its own index and finds each item first."""
    _settle(store)
    assert not _index(store).viewing
    assert store.wait_for_vector_index("c1", timeout=30)
    _settle(store)
    assert _index(store).pending == 0
    for item, vector in zip(items, vectors, strict=True):
        assert _top(store, vector) == (item.id, 1.0)


@pytest.fixture
def keeper_and_viewer(
    open_shared: Callable[[], SQLiteStore], make_item: ItemFactory, rng: np.random.Generator
) -> tuple[SQLiteStore, SQLiteStore]:
    """A keeper whose cube c1 holds 300 vectors, and a viewer of its saved index."""
    keeper = open_shared()
    vector_cube(keeper, make_item, rng, 300)
    assert keeper.wait_for_vector_index("c1")
    viewer = open_shared()
    assert viewer.wait_for_vector_index("c1")
    assert not _index(keeper).viewing
    assert _index(viewer).viewing
    return keeper, viewer


def test_a_viewer_searches_the_keepers_file_and_finds_writes_made_since(
    keeper_and_viewer: tuple[SQLiteStore, SQLiteStore], make_item: ItemFactory,
    rng: np.random.Generator,
) -> None:
    keeper, viewer = keeper_and_viewer
    first_view = _index(viewer).view_seq
    assert first_view >= 0
    fresh = [make_item(f"late {n}") for n in range(3)]
    vectors = unit(rng, 3)
    keeper.add_items(fresh, vectors, FINGERPRINT)
    moved = unit(rng, 1)
    keeper.replace_vectors("c1", [fresh[0].id], moved, FINGERPRINT)
    for store in (keeper, viewer):
        assert _top(store, moved[0]) == (fresh[0].id, 1.0)
        assert _top(store, vectors[1]) == (fresh[1].id, 1.0)
        assert fresh[0].id not in {h.id for h in store.vector_search(SCOPE, vectors[0], None, 3)}
    # 3 adds and a replacement (a removal and an add) are 5 changes: the keeper saved its
    # index, and the viewer adopts that file
    _settle(keeper, viewer)
    saved = keeper._vectors._files.saved("c1", 16)
    assert saved is not None and saved.seq > first_view
    assert _index(viewer).view_seq == saved.seq
    assert _index(viewer).pending == 0
    assert _top(viewer, moved[0]) == (fresh[0].id, 1.0)
    assert _top(viewer, vectors[2]) == (fresh[2].id, 1.0)


def test_a_viewer_leaves_out_vectors_deleted_after_its_file_was_saved(
    keeper_and_viewer: tuple[SQLiteStore, SQLiteStore], rng: np.random.Generator
) -> None:
    keeper, viewer = keeper_and_viewer
    query = unit(rng, 1)[0]
    hits = viewer.vector_search(SCOPE, query, None, 10)
    keeper.delete_items(SCOPE, [hit.id for hit in hits[:4]])
    again = viewer.vector_search(SCOPE, query, None, 10)  # the file still holds the 4
    assert [h.id for h in again[:6]] == [h.id for h in hits[4:]]
    assert len(again) == 10
    assert not {h.id for h in hits[:4]} & {h.id for h in again}


def test_a_keeper_that_lost_vectors_saves_its_index_with_their_bytes_zeroed(
    keeper_and_viewer: tuple[SQLiteStore, SQLiteStore], make_item: ItemFactory,
    rng: np.random.Generator,
) -> None:
    keeper, viewer = keeper_and_viewer
    before = keeper._vectors._files.saved("c1", 16)
    assert before is not None
    gone = viewer.vector_search(SCOPE, unit(rng, 1)[0], None, 5)
    gone_bytes = [_stored_halves(keeper, _rowid(keeper, hit.id)) for hit in gone]
    assert all(halves in before.path.read_bytes() for halves in gone_bytes)
    kept_index = _index(keeper)._ann
    keeper.delete_items(SCOPE, [hit.id for hit in gone])  # 5 changes: saved
    _settle(keeper, viewer)
    saved = keeper._vectors._files.saved("c1", 16)
    assert saved is not None and saved.seq > before.seq
    assert not any(halves in saved.path.read_bytes() for halves in gone_bytes)
    assert _index(keeper)._ann is kept_index  # not built anew
    assert not before.path.exists()
    assert _index(viewer).view_seq == saved.seq
    fresh = [make_item(f"after {n}") for n in range(10)]
    vectors = unit(rng, 10)
    keeper.add_items(fresh, vectors, FINGERPRINT)  # into the freed slots, and saved
    _settle(keeper, viewer)
    assert _index(viewer).view_seq > saved.seq
    for item, vector in zip(fresh, vectors, strict=True):
        assert _top(viewer, vector) == (item.id, 1.0)
        assert _top(keeper, vector) == (item.id, 1.0)


def test_a_viewer_that_saw_deletions_adopts_the_keepers_later_file_by_itself(
    keeper_and_viewer: tuple[SQLiteStore, SQLiteStore], rng: np.random.Generator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It looks again while removed vectors wait, though no write or search comes."""
    keeper, viewer = keeper_and_viewer
    saving = threading.Event()
    files = keeper._vectors._files
    save = files.save

    def save_when_let(*args: Any, **kwargs: Any) -> Any:
        assert saving.wait(timeout=30)
        return save(*args, **kwargs)

    monkeypatch.setattr(files, "save", save_when_let)
    gone = viewer.vector_search(SCOPE, unit(rng, 1)[0], None, 5)
    keeper.delete_items(SCOPE, [hit.id for hit in gone])  # 5 changes: the keeper saves...
    left = viewer.vector_search(SCOPE, unit(rng, 1)[0], None, 5)  # ...after the viewer looked
    assert not {hit.id for hit in gone} & {hit.id for hit in left}
    viewed = _index(viewer).view_seq
    saving.set()
    assert keeper._vectors.wait_inserted(timeout=30)
    saved = files.saved("c1", 16)
    assert saved is not None and saved.seq > viewed
    _eventually(lambda: _index(viewer).view_seq == saved.seq, "the viewer adopts the file")


def _stored_halves(store: SQLiteStore, rowid: int) -> bytes:
    with store._db.read() as conn:
        (blob,) = conn.execute("SELECT vector FROM vectors WHERE item_rowid = ?",
                               (rowid,)).fetchone()
    return np.frombuffer(blob, dtype="<f4").astype(np.float16).tobytes()


def _rowid(store: SQLiteStore, item_id: str) -> int:
    with store._db.read() as conn:
        return int(conn.execute("SELECT rowid FROM items WHERE id = ?", (item_id,)).fetchone()[0])


def test_a_viewer_keeps_its_own_index_once_the_keeper_is_gone(
    keeper_and_viewer: tuple[SQLiteStore, SQLiteStore],
    open_shared: Callable[[], SQLiteStore], make_item: ItemFactory, rng: np.random.Generator,
) -> None:
    keeper, viewer = keeper_and_viewer
    keeper.close()
    fresh = [make_item(f"late {n}") for n in range(8)]
    vectors = unit(rng, 8)
    viewer.add_items(fresh, vectors, FINGERPRINT)
    _keeps_its_own_index_and_finds(viewer, fresh, vectors)
    third = open_shared()  # views the file the new keeper saved
    assert third.wait_for_vector_index("c1")
    assert _index(third).viewing
    assert _index(third).view_seq == viewer._vectors._files.saved("c1", 16).seq
    for item, vector in zip(fresh, vectors, strict=True):
        assert _top(third, vector) == (item.id, 1.0)


def test_a_viewer_with_too_many_changes_waiting_keeps_its_own_index(
    keeper_and_viewer: tuple[SQLiteStore, SQLiteStore], db_path: Path, clock: FixedClock,
    make_item: ItemFactory, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, viewer = keeper_and_viewer  # the keeper stays idle: it saves nothing new
    monkeypatch.setattr(vector_cache, "VIEW_PENDING_LIMIT", 3)
    writer = SQLiteStore(db_path, StoreSettings(ann_threshold=20), clock)
    fresh = [make_item(f"late {n}") for n in range(6)]
    vectors = unit(rng, 6)
    try:
        writer.add_items(fresh, vectors, FINGERPRINT)
    finally:
        writer.close()
    _keeps_its_own_index_and_finds(viewer, fresh, vectors)


def _viewer_of_300(
    tmp_path: Path, vectors: np.ndarray, saved_rows: int
) -> tuple[CubeVectors, Any]:
    """A viewer that loaded 300 rows (rowids 1-300) and records the changes after log
    position 300, and a view of an index of the first ``saved_rows`` saved at position
    ``saved_rows``."""
    rowids = np.arange(1, 301, dtype=np.int64)
    files = vector_cache.AnnFiles(tmp_path)
    files.save("c1", build_hnsw(16, rowids[:saved_rows], vectors[:saved_rows]),
               seq=saved_rows, dim=16)
    saved = files.saved("c1", 16)
    assert saved is not None
    index = CubeVectors(16, ann_threshold=20)
    index.load_sorted(rowids.copy(), vectors.copy(), 300)
    assert index.become_viewer(since=300)
    return index, files.view(saved, 16)


def test_a_view_makes_up_for_rows_removed_since_and_scores_changed_rows_once(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    vectors = unit(rng, 300)
    index, view = _viewer_of_300(tmp_path, vectors, saved_rows=300)
    index.adopt_view(view, 300)
    query = vectors[0]
    before, _ = index.search(query, 10)
    index.remove(before[:4], seq=301)  # still in the file
    moved = before[4]
    index.upsert(before[4:5], vectors[0:1], seq=302)  # in the file with its old vector
    after, scores = index.search(query, 10)
    assert len(after) == len(set(after.tolist())) == 10
    assert not set(before[:4].tolist()) & set(after.tolist())
    assert after[:6].tolist() == [moved, *before[5:10].tolist()]
    assert scores[0] == pytest.approx(1.0, abs=1e-6)


def test_a_store_that_cannot_make_the_lock_file_keeps_its_own_index(
    open_shared: Callable[[], SQLiteStore], db_path: Path, make_item: ItemFactory,
    rng: np.random.Generator, caplog: pytest.LogCaptureFixture,
) -> None:
    keeper = open_shared()
    vector_cube(keeper, make_item, rng, 300)
    assert keeper.wait_for_vector_index("c1")
    keeper.close()
    for lock in Path(f"{db_path}.ann").glob("*.keeper"):
        lock.unlink()
        lock.mkdir()  # cannot be opened as a file, even by root
    store = open_shared()
    assert store.wait_for_vector_index("c1")
    assert not _index(store).viewing
    assert "keeps its own" in caplog.text
    fresh = make_item("late")
    vector = unit(rng, 1)
    store.add_items([fresh], vector, FINGERPRINT)
    _settle(store)
    assert _index(store).pending == 0
    assert _top(store, vector[0]) == (fresh.id, 1.0)


def test_a_viewer_leaves_alone_an_index_saved_before_the_changes_it_records(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    vectors = unit(rng, 300)
    index, view = _viewer_of_300(tmp_path, vectors, saved_rows=250)  # 251-300 not recorded
    index.adopt_view(view, 250)
    assert index.view_seq == -1
    found, _ = index.search(vectors[279], 1)
    assert found.tolist() == [280]
    index.adopt_view(view, 250, np.arange(251, 301, dtype=np.int64))
    assert index.view_seq == 250
    assert index.pending == 50
    found, _ = index.search(vectors[279], 1)
    assert found.tolist() == [280]


def test_cubes_that_grow_large_while_loaded_share_one_index(
    open_shared: Callable[[], SQLiteStore], make_item: ItemFactory, rng: np.random.Generator
) -> None:
    first, second = open_shared(), open_shared()
    items, vectors = vector_cube(first, make_item, rng, 10)
    for store in (first, second):  # both load the cube while it is small
        assert not store.wait_for_vector_index("c1")
    more = [make_item(f"more {n}") for n in range(100)]
    more_vectors = unit(rng, 100)
    first.add_items(more, more_vectors, FINGERPRINT)
    assert first.wait_for_vector_index("c1")  # its keeper: built and saved
    _settle(second)  # takes in the writes, becomes a viewer, adopts the saved index
    assert not _index(first).viewing
    assert _index(second).viewing
    assert _index(second).view_seq >= 0
    for item, vector in zip([*items, *more], [*vectors, *more_vectors], strict=True):
        assert _top(second, vector) == (item.id, 1.0)


def test_a_new_viewer_adopts_an_older_saved_index_with_the_changes_the_log_holds_since(
    open_shared: Callable[[], SQLiteStore], make_item: ItemFactory, rng: np.random.Generator
) -> None:
    first, second = open_shared(), open_shared()
    vector_cube(first, make_item, rng, 10)
    for store in (first, second):
        assert not store.wait_for_vector_index("c1")
    first.add_items([make_item(f"more {n}") for n in range(100)], unit(rng, 100), FINGERPRINT)
    assert first.wait_for_vector_index("c1")  # the keeper: built and saved
    saved = first._vectors._files.saved("c1", 16)
    assert saved is not None
    late = [make_item(f"late {n}") for n in range(3)]
    late_vectors = unit(rng, 3)
    first.add_items(late, late_vectors, FINGERPRINT)  # too few changes to save again
    for item, vector in zip(late, late_vectors, strict=True):
        assert _top(second, vector) == (item.id, 1.0)
    assert _index(second).viewing
    assert _index(second).view_seq == saved.seq
    assert _index(second).pending == 3


def test_a_few_changes_are_saved_and_viewed_after_a_while_without_more_writes(
    keeper_and_viewer: tuple[SQLiteStore, SQLiteStore], make_item: ItemFactory,
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch,
) -> None:
    keeper, viewer = keeper_and_viewer
    monkeypatch.setattr(vector_cache, "PUBLISH_EVERY_S", 0.2)
    before = _index(viewer).view_seq
    fresh = [make_item(f"late {n}") for n in range(2)]  # fewer than PUBLISH_AFTER
    keeper.add_items(fresh, unit(rng, 2), FINGERPRINT)
    _settle(keeper, viewer)
    deadline = time.monotonic() + 10
    while _index(viewer).pending:  # no write, no search: the background threads wake
        assert time.monotonic() < deadline, "the viewer still scores the 2 changes exactly"
        time.sleep(0.05)
    saved = keeper._vectors._files.saved("c1", 16)
    assert saved is not None and _index(viewer).view_seq == saved.seq > before


def _eventually(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_store_that_serves_no_searches_keeps_the_large_cubes_for_the_others(
    open_shared: Callable[[], SQLiteStore], make_item: ItemFactory, rng: np.random.Generator,
) -> None:
    """``serve --workers``' parent: it claims the large cubes before any worker loads them,
    then loads, builds, inserts and saves without a search; the workers only view."""
    writer = open_shared()
    vector_cube(writer, make_item, rng, 300)
    parent = open_shared()
    stop = threading.Event()
    keeping = parent.keep_shared_indexes(stop)
    try:
        worker = open_shared()
        assert worker.wait_for_vector_index("c1") is False  # nothing saved to view yet
        assert _index(worker).viewing
        _eventually(lambda: parent._vectors._files.saved("c1", 16) is not None,
                    "the parent built and saved no index")
        first = parent._vectors._files.saved("c1", 16)
        fresh = [make_item(f"late {n}") for n in range(6)]  # more than PUBLISH_AFTER
        vectors = unit(rng, 6)
        writer.add_items(fresh, vectors, FINGERPRINT)
        _eventually(lambda: parent._vectors._files.saved("c1", 16) != first,
                    "the parent saved no index with the writer's writes")
        saved = parent._vectors._files.saved("c1", 16)
        assert first is not None and saved is not None and saved.seq > first.seq
        assert not _index(parent).viewing and _index(parent).pending == 0
        for store in (worker, writer):  # the writer loads the cube now: it views it too
            _settle(store)
            assert _index(store).viewing
            assert _index(store).view_seq == saved.seq and _index(store).pending == 0
            for item, vector in zip(fresh, vectors, strict=True):
                assert _top(store, vector) == (item.id, 1.0)
    finally:
        stop.set()
        keeping.join()


def test_the_keeping_store_claims_a_cube_once_it_grows_large(
    open_shared: Callable[[], SQLiteStore], make_item: ItemFactory, rng: np.random.Generator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index_keeper, "CLAIM_EVERY_S", 0.0)
    writer = open_shared()
    vector_cube(writer, make_item, rng, 10)  # small: nothing to keep
    parent = open_shared()
    stop = threading.Event()
    keeping = parent.keep_shared_indexes(stop)
    try:
        writer.add_items([make_item(f"more {n}") for n in range(300)], unit(rng, 300),
                         FINGERPRINT)
        _eventually(lambda: parent._vectors._files.saved("c1", 16) is not None,
                    "the parent kept no index of the cube grown large")
        worker = open_shared()
        assert worker.wait_for_vector_index("c1")
        assert _index(worker).viewing and not _index(parent).viewing
    finally:
        stop.set()
        keeping.join()
