"""Saved HNSW index files: concurrent saves, damaged files, stale saves, forgetting."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from store_helpers import DIM, ItemFactory, unit, vector_cube

from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore, vector_index
from memosys.stores.sqlite.ann import (
    HNSW_EXPANSION_INSERT,
    HNSW_EXPANSION_SEARCH,
    HNSW_SCALAR,
    build_hnsw,
)
from memosys.stores.sqlite.ann_files import FREED_SLOTS, AnnFiles


def _index(rng: np.random.Generator, n: int) -> object:
    return build_hnsw(DIM, np.arange(1, n + 1, dtype=np.int64), unit(rng, n))


def test_concurrent_saves_leave_a_record_naming_a_complete_file(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    files = AnnFiles(tmp_path)
    indexes = {seq: _index(rng, 300 + 40 * seq) for seq in range(1, 7)}
    start = threading.Barrier(len(indexes))

    def save(seq: int) -> None:
        start.wait()
        for _ in range(3):
            files.save("c1", indexes[seq], seq=seq, dim=DIM)

    threads = [threading.Thread(target=save, args=(seq,)) for seq in indexes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    saved = files.saved("c1", DIM)
    assert saved is not None and saved.seq == max(indexes)
    loaded = files.load(saved, DIM)
    assert loaded is not None and len(loaded) == 300 + 40 * saved.seq
    assert not list(tmp_path.glob("*.partial"))
    assert {_seq(path) for path in tmp_path.glob("*.usearch")} == {saved.seq}


def test_built_loaded_and_viewed_indexes_take_inserts_at_the_insert_expansion(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    """Built at the build expansion, an index inserts each later vector at the cheaper
    insert expansion, also once loaded or viewed (usearch does not save it)."""
    files = AnnFiles(tmp_path)
    built = _index(rng, 300)
    files.save("c1", built, seq=1, dim=DIM)
    saved = files.saved("c1", DIM)
    assert saved is not None
    for index in (built, files.load(saved, DIM), files.view(saved, DIM)):
        assert (index.expansion_add, index.expansion_search) == (  # type: ignore[attr-defined]
            HNSW_EXPANSION_INSERT, HNSW_EXPANSION_SEARCH)


def test_a_save_older_than_the_record_leaves_it_and_later_saves_clear_earlier_files(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    files = AnnFiles(tmp_path)
    files.save("c1", _index(rng, 30), seq=3, dim=DIM)
    saved = files.saved("c1", DIM)
    assert saved is not None
    cut_short = saved.path.with_name(f"{saved.path.stem.split('-')[0]}-4-0.usearch.partial")
    cut_short.write_bytes(b"")  # a save of log position 4 that a kill cut short
    files.save("c1", _index(rng, 50), seq=9, dim=DIM)
    files.save("c1", _index(rng, 30), seq=3, dim=DIM)
    saved = files.saved("c1", DIM)
    assert saved is not None and saved.seq == 9
    assert [_seq(path) for path in tmp_path.glob("*.usearch")] == [9]
    assert not cut_short.exists()


def test_a_forget_while_an_index_is_saved_leaves_no_file_of_the_cube(
    tmp_path: Path, rng: np.random.Generator, caplog: pytest.LogCaptureFixture
) -> None:
    """The saved state may hold the forgotten vector: the save is dropped, quietly (its
    changes stay unsaved), and no file or record of the cube is left."""
    files = AnnFiles(tmp_path)
    files.save("c1", _index(rng, 20), seq=1, dim=DIM)

    class Forgotten:
        def __init__(self) -> None:
            self.index = _index(rng, 30)

        def save(self, path: str) -> None:
            self.index.save(path)  # type: ignore[attr-defined]
            files.remove("c1", 2)  # another process forgets a memory of the cube

    with caplog.at_level(logging.WARNING):
        assert files.save("c1", Forgotten(), seq=3, dim=DIM) is None
    assert caplog.text == ""
    assert files.saved("c1", DIM) is None
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".lock"]  # no index


def test_a_save_overtaken_by_a_later_one_while_it_writes_is_dropped_quietly(
    tmp_path: Path, rng: np.random.Generator, caplog: pytest.LogCaptureFixture
) -> None:
    files = AnnFiles(tmp_path)
    later = _index(rng, 50)

    class Overtaken:
        """An index whose file, while written, is swept away by a save of a later state
        (``serve --workers`` processes saving at once as they stop)."""

        def __init__(self) -> None:
            self.index = _index(rng, 30)

        def save(self, path: str) -> None:
            self.index.save(path)  # type: ignore[attr-defined]
            files.save("c1", later, seq=9, dim=DIM)

    with caplog.at_level(logging.WARNING):
        files.save("c1", Overtaken(), seq=3, dim=DIM)
        files.save("c1", object(), seq=4, dim=DIM)  # started after: never written
    assert caplog.text == ""
    saved = files.saved("c1", DIM)
    assert saved is not None and saved.seq == 9
    assert [_seq(path) for path in tmp_path.glob("*")
            if path.name != "records.lock" and path.suffix != ".json"] == [9]


def test_a_damaged_index_file_is_rebuilt_not_loaded(
    open_store: Callable[..., SQLiteStore], make_item: ItemFactory, rng: np.random.Generator,
    db_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(vector_index, "SYNC_BUILD_BELOW", 10)
    first = open_store(ann_threshold=20)
    items, vectors = vector_cube(first, make_item, rng, 300)
    assert first.wait_for_vector_index("c1")
    first.close()
    [saved] = (db_path.parent / f"{db_path.name}.ann").glob("*.usearch")
    damaged = bytearray(saved.read_bytes())
    damaged[len(damaged) // 2 : len(damaged) // 2 + 4096] = bytes(4096)
    saved.write_bytes(bytes(damaged))

    second = open_store(ann_threshold=20)
    with caplog.at_level(logging.WARNING):
        assert second.wait_for_vector_index("c1")
    assert "sha256 does not match" in caplog.text
    scope = Scope("u1", ("c1",))
    assert [h.id for h in second.vector_search(scope, vectors[7], None, 1)] == [items[7].id]


def test_an_index_saved_again_at_the_same_log_position_replaces_the_file_before(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    files = AnnFiles(tmp_path)
    files.save("c1", _index(rng, 30), seq=5, dim=DIM)
    files.save("c1", _index(rng, 40), seq=5, dim=DIM)  # rebuilt: damaged, or a new layout
    saved = files.saved("c1", DIM)
    assert saved is not None
    assert list(tmp_path.glob("*.usearch")) == [saved.path]
    loaded = files.load(saved, DIM)
    assert loaded is not None and len(loaded) == 40


def test_forgetting_a_cube_removes_every_file_of_it(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    files = AnnFiles(tmp_path)
    files.save("c1", _index(rng, 20), seq=1, dim=DIM)
    files.save("c2", _index(rng, 20), seq=1, dim=DIM)
    saved = files.saved("c2", DIM)
    assert saved is not None
    stem = saved.path.name.split("-")[0]
    (tmp_path / f"{stem}-2-0.usearch.partial").write_bytes(b"")  # a save cut short
    files.remove("c2", 5)
    assert files.saved("c2", DIM) is None
    assert [p.name for p in tmp_path.glob(f"{stem}*")] == [f"{stem}.json"]  # no index file
    other = files.saved("c1", DIM)
    assert other is not None and files.load(other, DIM) is not None


def test_after_a_forget_a_save_of_an_earlier_state_is_refused(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    """A keeper in another process that has not taken the removal in yet saves an index
    that holds the forgotten vector as a live one: it must not land."""
    files = AnnFiles(tmp_path)
    files.save("c1", _index(rng, 20), seq=3, dim=DIM)
    files.remove("c1", 7)  # vectors forgotten at log position 7
    assert files.save("c1", _index(rng, 20), seq=6, dim=DIM) is None
    assert files.saved("c1", DIM) is None and not list(tmp_path.glob("*.usearch"))
    assert files.save("c1", _index(rng, 20), seq=7, dim=DIM) is not None
    saved = files.saved("c1", DIM)
    assert saved is not None and saved.seq == 7


def _seq(path: Path) -> int:
    return int(path.stem.split("-")[1])


def test_a_record_naming_a_file_outside_its_folder_is_not_followed(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    files = AnnFiles(tmp_path / "ann")
    files.save("c1", _index(rng, 20), seq=1, dim=DIM)
    [record] = (tmp_path / "ann").glob("*.json")
    fields = json.loads(record.read_text("utf-8"))
    record.write_text(json.dumps({**fields, "file": "../elsewhere.usearch"}), "utf-8")
    assert files.saved("c1", DIM) is None


@pytest.mark.parametrize(
    ("field", "value"), [("scalar", None), ("scalar", "f32"), ("freed_slots", None)]
)
def test_an_index_saved_in_another_scalar_type_or_before_freed_slots_were_zeroed_is_rebuilt(
    tmp_path: Path, rng: np.random.Generator, field: str, value: str | None
) -> None:
    files = AnnFiles(tmp_path)
    files.save("c1", _index(rng, 20), seq=1, dim=DIM)
    [record] = tmp_path.glob("*.json")
    fields = json.loads(record.read_text("utf-8"))
    assert fields["scalar"] == HNSW_SCALAR and fields["freed_slots"] == FREED_SLOTS
    fields.pop(field)
    changed = fields if value is None else {**fields, field: value}
    record.write_text(json.dumps(changed), "utf-8")
    assert files.saved("c1", DIM) is None


def test_a_new_keeper_deletes_the_unfinished_saves_a_killed_one_left(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    """A keeper killed between writing a save and zeroing its removed vectors leaves a
    file that may hold them; the next keeper deletes it, and keeps the finished ones."""
    files = AnnFiles(tmp_path)
    files.save("c1", _index(rng, 20), seq=1, dim=DIM)
    saved = files.saved("c1", DIM)
    assert saved is not None
    stem = saved.path.name.split("-")[0]
    left = tmp_path / f"{stem}-2-0.usearch.partial"
    left.write_bytes(b"removed vector bytes")
    other = tmp_path / "another-2-0.usearch.partial"  # another cube's save, under way
    other.write_bytes(b"")
    keeper = files.keep("c1")
    assert keeper is not None
    assert not left.exists() and other.exists() and saved.path.exists()
    left.write_bytes(b"a save of the keeper, under way")
    assert files.keep("c1") is None and left.exists()  # held: nothing deleted
    keeper.close()
