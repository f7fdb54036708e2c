"""Removed vectors zeroed in saved HNSW files: usearch keeps a removed key's bytes in its
freed slot and saves them, so a save zeroes them (real usearch indexes, real files)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from store_helpers import DIM, unit

from memosys.core.errors import StoreError
from memosys.stores.sqlite import vector_index
from memosys.stores.sqlite.ann import build_hnsw, remove_keys, sync_keys
from memosys.stores.sqlite.ann_files import AnnFiles
from memosys.stores.sqlite.freed_slots import no_halves, without_live_twins, zero_removed
from memosys.stores.sqlite.vector_index import CubeVectors


def _halves(vectors: np.ndarray) -> bytes:
    return np.asarray(vectors, dtype=np.float16).tobytes()


def _built(rng: np.random.Generator, n: int) -> tuple[object, np.ndarray, np.ndarray]:
    vectors = unit(rng, n)
    rowids = np.arange(1, n + 1, dtype=np.int64)
    return build_hnsw(DIM, rowids, vectors), rowids, vectors


def test_usearch_saves_a_removed_vector_and_the_save_zeroes_it(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    index, _, vectors = _built(rng, 50)
    removed = remove_keys(index, np.array([3, 7, 999]))  # 999 was never in it
    assert removed.dtype == np.float16 and removed.shape == (2, DIM)
    assert removed.tobytes() == _halves(vectors[[2, 6]])
    raw = tmp_path / "raw.usearch"
    index.save(str(raw))  # type: ignore[attr-defined]
    assert _halves(vectors[2]) in raw.read_bytes()  # why this module exists

    found = zero_removed(raw, removed)
    assert found.tolist() == [True, True]
    data = raw.read_bytes()
    assert _halves(vectors[2]) not in data and _halves(vectors[6]) not in data
    for kept in (0, 1, 3, 5, 7, 49):
        assert _halves(vectors[kept]) in data
    loaded = build_hnsw(DIM, np.empty(0, dtype=np.int64), vectors[:0])
    loaded.load(str(raw))  # type: ignore[attr-defined]
    assert len(loaded) == 48  # type: ignore[arg-type]
    hits = loaded.search(vectors[10], 1)  # type: ignore[attr-defined]
    assert int(hits.keys[0]) == 11


def test_a_slot_reused_by_an_insert_is_not_found_and_the_new_vector_stays(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    index, _, vectors = _built(rng, 30)
    removed = remove_keys(index, np.array([4]))
    fresh = unit(rng, 1)
    index.add(np.array([100], dtype=np.uint64), fresh)  # type: ignore[attr-defined]
    path = tmp_path / "i.usearch"
    index.save(str(path))  # type: ignore[attr-defined]
    assert zero_removed(path, removed).tolist() == [False]
    assert _halves(fresh[0]) in path.read_bytes()


def test_a_removed_vector_with_a_live_twin_is_left_to_the_twin(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    vectors = unit(rng, 20)
    vectors[9] = vectors[3]  # the same text written twice
    rowids = np.arange(1, 21, dtype=np.int64)
    index = build_hnsw(DIM, rowids, vectors)
    removed = remove_keys(index, np.array([4, 6]))  # rows 3 (twin of row 9) and 5
    live = np.ones(20, dtype=bool)
    live[[3, 5]] = False
    kept = without_live_twins(removed, index, rowids[live], vectors[live, :4])
    assert kept.tobytes() == _halves(vectors[5])
    path = tmp_path / "i.usearch"
    index.save(str(path))  # type: ignore[attr-defined]
    zero_removed(path, kept)
    data = path.read_bytes()
    assert _halves(vectors[9]) in data and _halves(vectors[5]) not in data


def test_sync_keys_returns_the_vectors_it_replaced_or_removed(rng: np.random.Generator) -> None:
    index, rowids, vectors = _built(rng, 20)
    moved = vectors.copy()
    moved[2] = unit(rng, 1)[0]
    alive = np.ones(20, dtype=bool)
    alive[5] = False
    dropped = sync_keys(index, np.array([3, 6, 500]), rowids, moved, alive)
    assert dropped.tobytes() == _halves(vectors[[2, 5]])
    assert sync_keys(index, np.array([], dtype=np.int64), rowids, moved).shape == (0, DIM)


def test_a_file_of_another_layout_is_refused_not_damaged(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    path = tmp_path / "other.usearch"
    path.write_bytes(b"\x05\x00\x00\x00\x10\x00\x00\x00" + b"\x01" * 40)
    with pytest.raises(StoreError, match="not a usearch file"):
        zero_removed(path, unit(rng, 1).astype(np.float16))
    assert zero_removed(path, no_halves(DIM)).tolist() == []
    path.write_bytes(b"\x05\x00")
    with pytest.raises(StoreError, match="not a usearch file"):
        zero_removed(path, unit(rng, 1).astype(np.float16))


def test_a_save_zeroes_the_removed_vectors_and_says_which_it_held(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    files = AnnFiles(tmp_path)
    index, _, vectors = _built(rng, 40)
    removed = remove_keys(index, np.array([1, 2]))
    stranger = unit(rng, 1).astype(np.float16)  # never in this index
    held = files.save("c1", index, np.concatenate([removed, stranger]), seq=3, dim=DIM)
    assert held is not None and held.tolist() == [True, True, False]
    saved = files.saved("c1", DIM)
    assert saved is not None
    assert _halves(vectors[0]) not in saved.path.read_bytes()
    assert files.load(saved, DIM) is not None  # its sha256 is that of the zeroed file


def test_a_build_that_lost_a_vector_meanwhile_is_saved_only_later_and_without_it(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build holds a vector removed while it ran, as a live key: saved at its end,
    the file would hold the vector until the next save."""
    building, removed = threading.Event(), threading.Event()

    def build_slowly(*args: Any, **kwargs: Any) -> Any:
        building.set()
        assert removed.wait(timeout=30)
        return build_hnsw(*args, **kwargs)

    monkeypatch.setattr(vector_index, "SYNC_BUILD_BELOW", 10)
    monkeypatch.setattr(vector_index, "build_hnsw", build_slowly)
    files = AnnFiles(tmp_path)
    saves: list[int] = []

    def saver() -> Any:
        def save(index: Any, gone: Any) -> Any:
            saves.append(len(gone))
            return files.save("c1", index, gone, seq=len(saves), dim=DIM)

        return save

    vectors = unit(rng, 40)
    cube = CubeVectors(DIM, 20, saver)
    cube.load_sorted(np.arange(1, 41, dtype=np.int64), vectors.copy(), 40)
    assert not cube.start_ann()
    assert building.wait(timeout=30)
    cube.remove(np.array([8]))
    removed.set()
    cube.join_build(timeout=30)
    assert cube.start_ann()  # adopted, and the vector removed from it
    assert saves == []
    assert cube.save_if_changed(1, saver())
    assert saves == [1] and cube.removed_held == 1
    saved = files.saved("c1", DIM)
    assert saved is not None
    data = saved.path.read_bytes()
    assert _halves(vectors[7]) not in data and _halves(vectors[8]) in data


def test_a_save_that_was_not_written_leaves_the_changes_and_removals_to_the_next(
    rng: np.random.Generator,
) -> None:
    vectors = unit(rng, 40)
    cube = CubeVectors(DIM, 20, lambda: lambda index, gone: None)
    cube.load_sorted(np.arange(1, 41, dtype=np.int64), vectors.copy(), 40)
    assert cube.start_ann()
    cube.remove(np.array([3, 4]))
    assert (cube.unsaved, cube.removed_held) == (2, 2)
    assert not cube.save_if_changed(1, lambda index, gone: None)  # a forget removed its file
    assert (cube.unsaved, cube.removed_held) == (2, 2)
    assert cube.save_if_changed(1, lambda index, gone: np.ones(len(gone), dtype=bool))
    assert (cube.unsaved, cube.removed_held) == (0, 2)


def test_an_index_that_is_never_saved_notes_no_removed_vectors(
    rng: np.random.Generator,
) -> None:
    """A store in memory saves no index, so it keeps no copy of what it removes."""
    cube = CubeVectors(DIM, 20)
    cube.load_sorted(np.arange(1, 41, dtype=np.int64), unit(rng, 40), 40)
    assert cube.start_ann()
    cube.remove(np.array([3, 4]))
    cube.upsert(np.array([5]), unit(rng, 1))
    assert cube.removed_held == 0 and cube.count == 38
