"""Changing or deleting a source memory makes its caches stale; stale caches are never used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.activation.support import open_mos

from memosys import MemOS
from memosys.activation.index import CubeIndex
from memosys.core.clock import FixedClock
from memosys.core.errors import StaleError


def _record(mos: MemOS, name: str = "facts") -> Any:
    return mos.activation.get(name, user_id="ann")


def test_update_marks_the_cache_stale_and_load_refuses_it(
    mos: MemOS, fact_ids: list[str], tiny_lm: Any
) -> None:
    mos.activation.build(memory_ids=fact_ids[:2], user_id="ann", name="facts")
    mos.activation.build(memory_ids=fact_ids[2:], user_id="ann", name="others")
    mos.update(fact_ids[1], user_id="ann", content="Bob moved to Bergen.")
    assert _record(mos).info.stale and "updated" in (_record(mos).stale_reason or "")
    assert not _record(mos, "others").info.stale
    with pytest.raises(StaleError, match="rebuild"):
        mos.activation.load("facts", tiny_lm, user_id="ann")


def test_a_stale_cache_is_rebuilt_lazily_with_the_new_text(
    mos: MemOS, fact_ids: list[str], tiny_lm: Any
) -> None:
    mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    mos.update(fact_ids[1], user_id="ann", content="Bob moved to Bergen.")
    result = mos.generate("Where is Bob?", user_id="ann", memories=fact_ids, max_new_tokens=4)
    assert result.caches == ["facts"]
    assert not _record(mos).info.stale
    loaded = mos.activation.load("facts", tiny_lm, user_id="ann")
    assert "Bergen" in loaded.file.metadata["text"]
    assert loaded.record.info.source_memory_versions[fact_ids[1]] == 2


def test_delete_removes_the_file_at_once_and_rebuild_leaves_the_memory_out(
    mos: MemOS, fact_ids: list[str], tiny_lm: Any
) -> None:
    mos.activation.build(memory_ids=fact_ids, user_id="ann", name="facts")
    path = mos.activation.root / _record(mos).cube_id / _record(mos).file
    mos.delete(fact_ids[0], user_id="ann")
    assert not path.exists()  # no copy of the deleted text survives
    assert _record(mos).info.stale
    assert _record(mos).info.byte_size == 0  # nor its bytes in the stats and the budget
    assert mos.activation.stats(user_id="ann")["bytes"] == 0
    rebuilt = mos.activation.rebuild("facts", user_id="ann")
    assert rebuilt is not None and rebuilt.memory_ids == fact_ids[1:]
    assert (
        "green tea"
        not in mos.activation.load("facts", tiny_lm, user_id="ann").file.metadata["text"]
    )


def test_with_on_stale_drop_generate_drops_the_stale_cache(
    tmp_path: Path, embedder: Any, clock: FixedClock, tiny_lm: Any
) -> None:
    with open_mos(tmp_path / "d", embedder, clock, on_stale="drop") as mos:
        ids = [i.id for i in mos.add_texts(["one fact", "two facts"], user_id="ann")]
        mos.activation.build(memory_ids=ids, user_id="ann", name="facts")
        mos.update(ids[0], user_id="ann", content="one changed fact")
        result = mos.generate("facts?", user_id="ann", memories=ids, max_new_tokens=2)
        assert result.caches == []
        assert mos.activation.list(user_id="ann") == []


def test_a_change_made_by_another_process_is_caught_on_load(
    tmp_path: Path, embedder: Any, clock: FixedClock, tiny_lm: Any
) -> None:
    with open_mos(tmp_path / "d", embedder, clock) as first:
        ids = [i.id for i in first.add_texts(["one fact", "two facts"], user_id="ann")]
        first.activation.build(memory_ids=ids, user_id="ann", name="facts")
        with open_mos(tmp_path / "d", embedder, clock) as second:  # never saw the cache
            second.update(ids[0], user_id="ann", content="one changed fact")
        assert first.activation.get("facts", user_id="ann").info.stale  # it heard the change
        cube_id = first.activation.get("facts", user_id="ann").cube_id

        def unheard(records: dict[str, Any]) -> None:  # as if no listener had run
            records["facts"].info.stale, records["facts"].stale_reason = False, None

        CubeIndex(first.activation.root / cube_id).change(unheard)
        assert not first.activation.get("facts", user_id="ann").info.stale
        with pytest.raises(StaleError, match="changed or is gone"):
            first.activation.load("facts", tiny_lm, user_id="ann")
        assert first.activation.get("facts", user_id="ann").info.stale


def test_forget_leaves_no_trace_in_activation_memory(
    tmp_path: Path, embedder: Any, clock: FixedClock, tiny_lm: Any
) -> None:
    with open_mos(tmp_path / "d", embedder, clock) as mos:
        ids = [
            i.id for i in mos.add_texts(["Zorbel keeps bees.", "Ann likes jazz."], user_id="ann")
        ]
        mos.activation.build(memory_ids=ids, user_id="ann", name="both")
        mos.activation.build(memory_ids=ids[1:], user_id="ann", name="jazz")
        receipt = mos.forget(ids[0], user_id="ann")
        assert [r.name for r in mos.activation.list(user_id="ann")] == ["jazz"]
        report = mos.verify_forgotten(receipt=receipt, texts=["Zorbel keeps bees."])
        assert not [f for f in report.leftovers if "kv" in f.place], report.leftovers
        mos.forget_user("ann")
        assert not (mos.activation.root / receipt.by_cube.popitem()[0]).exists()


def test_delete_and_forget_in_an_instance_that_never_used_the_caches_remove_their_text(
    tmp_path: Path, embedder: Any, clock: FixedClock, tiny_lm: Any
) -> None:
    text = "Zorbel keeps bees."
    with open_mos(tmp_path / "d", embedder, clock) as first:
        ids = [i.id for i in first.add_texts([text, "Ann likes jazz.", "Ann runs."], user_id="ann")]
        first.activation.build(memory_ids=ids[:2], user_id="ann", name="bees")
        first.activation.build(memory_ids=ids[2:], user_id="ann", name="runs")
        cube_id = first.activation.get("bees", user_id="ann").cube_id
    folder = tmp_path / "d" / "kv" / cube_id
    with open_mos(tmp_path / "d", embedder, clock) as second:  # e.g. `memosys forget` or a job
        second.delete(ids[2], user_id="ann")
        assert not (folder / "runs.safetensors").exists()
        receipt = second.forget(ids[0], user_id="ann")
        report = second.verify_forgotten(receipt=receipt, texts=[text])
        assert not [f for f in report.leftovers if "kv" in f.place], report.leftovers
    with open_mos(tmp_path / "d", embedder, clock) as third:
        third.forget_user("ann")
    assert not folder.exists()


def test_an_unreadable_index_fails_neither_a_committed_change_nor_an_answer(
    mos: MemOS, fact_ids: list[str]
) -> None:
    mos.activation.build(memory_ids=fact_ids[:2], user_id="ann", name="first")
    mos.activation.build(memory_ids=fact_ids[2:], user_id="ann", name="rest")
    folder = mos.activation.root / _record(mos, "first").cube_id
    (folder / "index.json").write_text("{broken", encoding="utf-8")
    mos.update(fact_ids[2], user_id="ann", content="Carol plays go.")  # no StoreError
    mos.delete(fact_ids[0], user_id="ann")
    assert not (folder / "first.safetensors").exists()  # its text is gone all the same
    assert (folder / "rest.safetensors").exists()
    answer = mos.generate("Who plays?", user_id="ann", memories=fact_ids[1:], max_new_tokens=2)
    assert answer.caches == []
