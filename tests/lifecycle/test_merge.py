"""Merge and dedup: near-duplicates of one user's cube become one memory with provenance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memosys.api.local import MemOS
from memosys.core.errors import InvalidInputError, NotFoundError
from memosys.core.items import LifecycleState
from memosys.lifecycle.merge import details, is_duplicate


@pytest.fixture
def mos(tmp_path: Path, embedder: Any) -> Iterator[MemOS]:
    with MemOS.open(tmp_path, embedder=embedder) as opened:
        yield opened


def test_details_catch_changed_numbers_names_and_negation() -> None:
    assert details("I have two cats named Luna and Milo.").numbers == {"2"}
    assert is_duplicate("I have 2 cats.", "I've got two cats.", 0.9, 0.77)
    assert not is_duplicate("I have 2 cats.", "I have 3 cats.", 0.99, 0.77)
    assert not is_duplicate("I live with Anna.", "I live with Clara.", 0.99, 0.77)
    assert not is_duplicate("I am allergic to nuts.", "I am not allergic to nuts.", 0.99, 0.77)
    assert not is_duplicate("I have 2 cats.", "I've got two cats.", 0.7, 0.77)


def test_near_duplicates_are_merged_with_both_sources_as_provenance(mos: MemOS) -> None:
    first, other, second, near_miss = mos.add_texts(
        [
            "I am allergic to peanuts.",
            "The garage door opener is in the drawer.",
            "I have a severe peanut allergy.",
            "I am not allergic to peanuts.",
        ],
        user_id="ann",
        kind="fact",
        tags=["health"],
    )
    mos.update(first.id, user_id="ann", importance=0.9)

    (merge,) = mos.dedup(user_id="ann")

    merged = mos.get(merge.merged.id, user_id="ann")
    assert merged.merged_from == [first.id, second.id]
    assert merged.content == second.content  # the fuller text
    assert merged.importance == 0.9 and merged.tags == ["health"]
    for source in (first, second):
        assert mos.get(source.id, user_id="ann").state is LifecycleState.MERGED
    current = {i.id for i in mos.list(user_id="ann")}
    assert current == {merged.id, other.id, near_miss.id}
    assert first.id in {i.id for i in mos.list(user_id="ann", include_history=True)}
    hits = mos.search("peanut allergy", user_id="ann", top_k=3)
    assert merged.id in {h.item.id for h in hits} and first.id not in {h.item.id for h in hits}
    assert mos.dedup(user_id="ann") == []


def test_dry_run_reports_without_writing(mos: MemOS) -> None:
    mos.add_texts(["My car is a blue Honda Civic.", "I drive a blue Honda Civic."],
                  user_id="ann", kind="fact")
    (merge,) = mos.dedup(user_id="ann", dry_run=True)
    assert {s.content for s in merge.sources} == {
        "My car is a blue Honda Civic.", "I drive a blue Honda Civic."}
    assert mos.count(user_id="ann") == 2


def test_messages_other_users_and_other_cubes_are_left_alone(mos: MemOS) -> None:
    mos.add([{"role": "user", "content": "I drive a blue Honda Civic."},
             {"role": "user", "content": "My car is a blue Honda Civic."}], user_id="ann")
    mos.add_texts(["My car is a blue Honda Civic."], user_id="ann", kind="fact")
    mos.add_texts(["I drive a blue Honda Civic."], user_id="bob", kind="fact")
    mos.create_cube("work", owner="ann")
    mos.add_texts(["I drive a blue Honda Civic."], user_id="ann", cube="work", kind="fact")
    assert mos.dedup(user_id="ann") == []
    assert mos.dedup(user_id="bob") == []


def test_the_dedup_job_merges_in_every_cube(mos: MemOS) -> None:
    mos.add_texts(["I run 5 kilometers every morning.", "Every morning I go for a 5 km run."],
                  user_id="ann", kind="fact")
    mos.add_texts(["My favourite band is Radiohead.", "Radiohead is my favourite band."],
                  user_id="bob", kind="preference")
    run = mos.run_job("dedup")
    assert run.result == {"merged": 2, "threshold": mos.settings.lifecycle.dedup_threshold}
    assert mos.count(user_id="ann") == 1 and mos.count(user_id="bob") == 1
    (bobs,) = mos.list(user_id="bob")
    assert len(bobs.merged_from) == 2 and bobs.kind.value == "preference"


def test_a_bad_threshold_is_refused(mos: MemOS) -> None:
    with pytest.raises(InvalidInputError, match="threshold"):
        mos.dedup(user_id="ann", threshold=1.5)
    with pytest.raises(InvalidInputError, match="threshold"):
        mos.run_job("dedup", params={"threshold": "high"})
    with pytest.raises(InvalidInputError, match="threshold"):
        mos.dedup(user_id="ann", threshold=True)  # type: ignore[arg-type]
    mos.add_texts(["I am allergic to peanuts.", "I have a severe peanut allergy."],
                  user_id="ann", kind="fact")
    with pytest.raises(InvalidInputError, match="dry_run must be true or false"):
        mos.dedup(user_id="ann", dry_run=0)  # type: ignore[arg-type]
    assert mos.count(user_id="ann") == 2  # nothing merged


def test_dedup_of_a_cube_that_is_not_the_users_is_not_found(mos: MemOS) -> None:
    mos.create_cube("private", owner="bob")
    with pytest.raises(NotFoundError):
        mos.dedup(user_id="ann", cube="private")


def test_forgetting_the_source_whose_text_was_kept_removes_it_from_the_merge(mos: MemOS) -> None:
    short, full = mos.add_texts(
        ["I am allergic to peanuts.", "I have a severe peanut allergy."],
        user_id="ann", kind="fact",
    )
    (merge,) = mos.dedup(user_id="ann")
    assert merge.merged.content == full.content

    mos.forget(full.id, user_id="ann")

    with pytest.raises(NotFoundError):
        mos.get(merge.merged.id, user_id="ann")
    (rebuilt,) = mos.list(user_id="ann")
    assert rebuilt.content == short.content and rebuilt.merged_from == [short.id]
    report = mos.verify_forgotten(ids=[full.id, merge.merged.id], texts=[full.content])
    # index terms the survivor shares ("allergi", "peanut") may stay; the text and ids may not
    assert [f for f in report.leftovers if f.kind != "term"] == []
    assert {f.needle for f in report.leftovers} <= {"allergi", "peanut"}

    mos.forget(short.id, user_id="ann")
    assert mos.list(user_id="ann", include_history=True) == []


def test_forgetting_the_other_source_keeps_the_merge(mos: MemOS) -> None:
    short, full = mos.add_texts(
        ["I am allergic to peanuts.", "I have a severe peanut allergy."],
        user_id="ann", kind="fact",
    )
    (merge,) = mos.dedup(user_id="ann")
    mos.forget(short.id, user_id="ann")
    kept = mos.get(merge.merged.id, user_id="ann")
    assert kept.content == full.content and kept.merged_from == [full.id]


def test_forgetting_a_source_takes_its_tags_and_metadata_out_of_the_merge(mos: MemOS) -> None:
    short, full = mos.add_texts(
        ["I am allergic to peanuts.", "I have a severe peanut allergy."],
        user_id="ann", kind="fact", metadatas=[{"pin": "zebra4471"}, {}],
    )
    mos.update(short.id, user_id="ann", tags=["medical-secret"])
    (merge,) = mos.dedup(user_id="ann")
    assert merge.merged.metadata == {"pin": "zebra4471"}

    mos.forget(short.id, user_id="ann")

    (rebuilt,) = mos.list(user_id="ann")
    assert rebuilt.content == full.content and rebuilt.merged_from == [full.id]
    assert rebuilt.metadata == {} and rebuilt.tags == []
    report = mos.verify_forgotten(ids=[merge.merged.id], texts=["zebra4471", "medical-secret"])
    assert report.leftovers == []


def test_a_merge_archived_before_a_source_is_forgotten_stays_archived(mos: MemOS) -> None:
    short, full = mos.add_texts(
        ["I am allergic to peanuts.", "I have a severe peanut allergy."],
        user_id="ann", kind="fact",
    )
    (merge,) = mos.dedup(user_id="ann")
    mos.archive(merge.merged.id, user_id="ann")

    mos.forget(full.id, user_id="ann")  # the merge holds its text: made anew from the other

    assert mos.list(user_id="ann") == []
    (rebuilt,) = mos.list(user_id="ann", include_archived=True)
    assert rebuilt.merged_from == [short.id] and rebuilt.state is LifecycleState.ARCHIVED


@pytest.mark.parametrize("change", ["delete", "update"])
def test_forgetting_the_sources_of_a_merge_changed_since_leaves_none_of_their_text(
    mos: MemOS, change: str
) -> None:
    short, full = mos.add_texts(
        ["I am allergic to peanuts.", "I have a severe peanut allergy."],
        user_id="ann", kind="fact",
    )
    (merge,) = mos.dedup(user_id="ann")
    if change == "delete":
        mos.delete(merge.merged.id, user_id="ann")
    else:
        mos.update(merge.merged.id, user_id="ann", content="Peanuts are a problem for me.")

    mos.forget(full.id, user_id="ann")  # the text the merge kept
    mos.forget(short.id, user_id="ann")

    report = mos.verify_forgotten(ids=[merge.merged.id], texts=[full.content, short.content])
    assert [f for f in report.leftovers if f.kind != "term"] == []
    assert mos.list(user_id="ann", include_history=True, include_archived=True) == []
