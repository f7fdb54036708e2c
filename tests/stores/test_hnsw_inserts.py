"""Vectors written to a cube with an HNSW index are searchable at once: exactly until a
background thread has inserted them into HNSW, through HNSW after."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from store_helpers import FINGERPRINT, ItemFactory, unit, vector_cube

from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore, vector_cache, vector_index

SCOPE = Scope("u1", ("c1",))


@pytest.fixture
def hnsw_store(
    open_store: Callable[..., SQLiteStore], make_item: ItemFactory, rng: np.random.Generator
) -> SQLiteStore:
    """A store whose cube c1 holds 300 vectors behind a built HNSW index."""
    store = open_store(ann_threshold=20)
    vector_cube(store, make_item, rng, 300)
    assert store.wait_for_vector_index("c1")
    return store


def _top(store: SQLiteStore, vector: np.ndarray) -> tuple[str, float]:
    [hit] = store.vector_search(SCOPE, vector, None, 1)
    return hit.id, hit.score


def test_new_overwritten_and_deleted_vectors_are_searched_right_before_and_after_insertion(
    hnsw_store: SQLiteStore, make_item: ItemFactory, rng: np.random.Generator
) -> None:
    store = hnsw_store
    index = store._vectors._cubes["c1"]
    assert index is not None
    fresh = [make_item(f"late {n}") for n in range(6)]
    vectors = unit(rng, 6)
    with store._vectors.lock:  # the inserter waits for this lock: the vectors stay pending
        store.add_items(fresh, vectors, FINGERPRINT)
        assert index.pending == 6
        for item, vector in zip(fresh, vectors, strict=True):
            assert _top(store, vector) == (item.id, pytest.approx(1.0, abs=1e-5))
        moved = unit(rng, 1)
        store.replace_vectors("c1", [fresh[0].id], moved, FINGERPRINT)
        assert _top(store, moved[0]) == (fresh[0].id, pytest.approx(1.0, abs=1e-5))
        assert fresh[0].id not in {h.id for h in store.vector_search(SCOPE, vectors[0], None, 3)}
        store.delete_items(SCOPE, [fresh[1].id])
        assert fresh[1].id not in {h.id for h in store.vector_search(SCOPE, vectors[1], None, 3)}
    assert store._vectors.wait_inserted(timeout=30)
    assert index.pending == 0
    assert _top(store, moved[0]) == (fresh[0].id, pytest.approx(1.0, abs=1e-5))
    assert fresh[1].id not in {h.id for h in store.vector_search(SCOPE, vectors[1], None, 3)}
    for item, vector in zip(fresh[2:], vectors[2:], strict=True):
        assert _top(store, vector) == (item.id, pytest.approx(1.0, abs=1e-5))


def test_hnsw_hits_carry_exact_float32_scores(
    open_store: Callable[..., SQLiteStore], make_item: ItemFactory, rng: np.random.Generator
) -> None:
    store = open_store(ann_threshold=20)
    items, vectors = vector_cube(store, make_item, rng, 300)
    assert store.wait_for_vector_index("c1")
    by_id = {item.id: vector for item, vector in zip(items, vectors, strict=True)}
    for query in unit(rng, 10):
        hits = store.vector_search(SCOPE, query, None, 10)
        assert len(hits) == 10
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        for hit in hits:  # half-precision distances would be off by about 1e-3
            assert hit.score == pytest.approx(float(by_id[hit.id] @ query), abs=1e-6)


def test_vectors_still_pending_at_close_are_in_the_saved_index(
    hnsw_store: SQLiteStore, open_store: Callable[..., SQLiteStore], make_item: ItemFactory,
    rng: np.random.Generator, db_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vector_cache, "SAVE_AFTER_CHANGES", 1)
    store = hnsw_store
    store._vectors.close()  # no background inserts from here on
    fresh = [make_item(f"late {n}") for n in range(5)]
    vectors = unit(rng, 5)
    store.add_items(fresh, vectors, FINGERPRINT)
    index = store._vectors._cubes["c1"]
    assert index is not None and index.pending == 5
    store.close()
    [saved] = (db_path.parent / f"{db_path.name}.ann").glob("*.usearch")

    reopened = open_store(ann_threshold=20)
    assert reopened.wait_for_vector_index("c1")
    loaded = reopened._vectors._cubes["c1"]
    assert loaded is not None and loaded.pending == 0 and loaded.count == 305
    for item, vector in zip(fresh, vectors, strict=True):
        assert _top(reopened, vector) == (item.id, pytest.approx(1.0, abs=1e-5))
    assert [saved] == list(saved.parent.glob("*.usearch"))  # loaded, not built again


def test_searches_racing_writes_and_inserts_find_every_acknowledged_vector(
    hnsw_store: SQLiteStore, make_item: ItemFactory, rng: np.random.Generator
) -> None:
    store = hnsw_store
    acknowledged: queue.Queue[tuple[str, np.ndarray] | None] = queue.Queue()
    batches = [([make_item(f"b{b} {n}") for n in range(10)], unit(rng, 10)) for b in range(30)]
    misses: list[str] = []

    def write() -> None:
        for items, vectors in batches:
            store.add_items(items, vectors, FINGERPRINT)
            for item, vector in zip(items, vectors, strict=True):
                acknowledged.put((item.id, vector))
        for _ in range(3):
            acknowledged.put(None)

    def search() -> None:
        while (entry := acknowledged.get()) is not None:
            item_id, vector = entry
            if _top(store, vector)[0] != item_id:
                misses.append(item_id)

    threads = [threading.Thread(target=write)] + [threading.Thread(target=search) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert misses == []
    assert store._vectors.wait_inserted(timeout=30)
    assert store._vectors._cubes["c1"].pending == 0  # type: ignore[union-attr]


EXIT_WHILE_INSERTING = """
import sys
from datetime import UTC, datetime
import numpy as np
from memosys.core.clock import SystemClock
from memosys.core.cube import MemCube
from memosys.core.items import MemoryItem
from memosys.settings import StoreSettings
from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore

store = SQLiteStore(sys.argv[1], StoreSettings(ann_threshold=100), SystemClock())
now = datetime.now(UTC)
store.put_cube(MemCube(id="c1", name="c1", owner="u1", created_at=now, updated_at=now))
rng = np.random.default_rng(int(sys.argv[2]))
def add(tag, n):
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.add_items([MemoryItem(id=f"{tag}-{j}", cube_id="c1", user_id="u1", owner="u1",
                                content=f"text {tag} {j}", created_at=now, updated_at=now)
                     for j in range(n)], vectors, "test/384")
    return vectors
first = add("base", 3000)
store.vector_search(Scope("u1", ("c1",)), first[0], None, 3)
assert store.wait_for_vector_index("c1")
for batch in range(5):
    add(f"late{batch}", 400)
print(store._vectors._cubes["c1"].pending)  # exits without close, inserts under way
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_process_exits_cleanly_while_vectors_are_inserted_in_the_background(
    tmp_path: Path, seed: int
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", EXIT_WHILE_INSERTING, str(tmp_path / "m.db"), str(seed)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) > 0  # it did exit with inserts pending


def test_a_growing_cube_grows_its_arrays_ahead_outside_the_search_lock(
    open_store: Callable[..., SQLiteStore], make_item: ItemFactory, rng: np.random.Generator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vector_cache, "HEADROOM", 64)
    grown_under_lock: list[int] = []
    grow = vector_index._grow
    monkeypatch.setattr(vector_index, "_grow", lambda array, capacity: (
        grown_under_lock.append(capacity), grow(array, capacity))[1])
    store = open_store(ann_threshold=20)
    vector_cube(store, make_item, rng, 300)
    store.close()
    store = open_store(ann_threshold=20)
    assert store.wait_for_vector_index("c1")
    index = store._vectors._cubes["c1"]
    assert index is not None and len(index._rowids) == 300 + 64  # loaded with room to spare
    added = []
    for batch in range(12):  # 360 more vectors, 30 a write: never more than half the room
        items, vectors = [make_item(f"late {batch}.{n}") for n in range(30)], unit(rng, 30)
        store.add_items(items, vectors, FINGERPRINT)
        added += zip(items, vectors, strict=True)
    assert grown_under_lock == []
    assert len(index._rowids) > index.count == 660
    for item, vector in added:
        assert _top(store, vector) == (item.id, pytest.approx(1.0, abs=1e-5))
