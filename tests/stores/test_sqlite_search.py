"""Full-text and vector search, embedder fingerprints and re-embedding."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from store_helpers import DIM, FINGERPRINT, T0, ItemFactory, unit, vector_cube

from memosys.core.cube import MemCube
from memosys.core.errors import EmbedderMismatchError, InvalidInputError
from memosys.core.filters import parse_filter
from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore, vector_cache, vector_index
from memosys.stores.sqlite.fts import bounded_query, choose_terms, fts_query, query_terms

NASTY_QUERIES = [
    'what did "Alice say',
    "NEAR(alice bob) AND OR NOT",
    "alice* ^bob -carol +dave",
    "content: alice; DROP TABLE items; --",
    "(((",
    "'''",
    "café?! über_alles ünïcödé",
    "",
    "   ",
    "the and of",
]


@pytest.mark.parametrize("query", NASTY_QUERIES)
def test_text_search_never_raises_on_user_text(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, query: str
) -> None:
    store.add_items([make_item("Alice said hello to Bob at the café")], None, None)
    hits = store.text_search(scope1, query, None, 10)
    assert all(h.score > 0 for h in hits)


def test_query_terms_drop_stopwords_and_punctuation() -> None:
    assert query_terms("What did Alice say about the move?!") == ["alice", "say", "move"]
    assert query_terms("the and of") == ["the", "and", "of"]
    assert fts_query(query_terms('"x" NEAR y*')) == '"x" OR "near" OR "y"'


def test_text_search_ranks_more_matching_terms_first_with_positive_scores(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory
) -> None:
    both = make_item("Alice adopted a cat named Pixel")
    one = make_item("Bob has a cat")
    none = make_item("Carol likes tea")
    store.add_items([one, both, none], None, None)
    hits = store.text_search(scope1, "Which cat did Alice adopt?", None, 10)
    assert [h.id for h in hits] == [both.id, one.id]
    assert hits[0].score > hits[1].score > 0
    filtered = store.text_search(scope1, "cat", parse_filter({"id": one.id}), 10)
    assert [h.id for h in filtered] == [one.id]


def test_text_search_indexes_speaker_and_stems(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory
) -> None:
    item = make_item("we went running", speaker="Melanie")
    store.add_items([item], None, None)
    assert [h.id for h in store.text_search(scope1, "melanie runs", None, 5)] == [item.id]


def test_exact_vector_search_orders_by_cosine(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, rng: np.random.Generator
) -> None:
    items = [make_item(f"v{n}") for n in range(50)]
    vectors = unit(rng, 50)
    store.add_items(items, vectors, FINGERPRINT)
    query = vectors[7] + 0.1 * vectors[3]
    hits = store.vector_search(scope1, query, None, 5)
    expected = np.argsort(-(vectors @ (query / np.linalg.norm(query))))[:5]
    assert [h.id for h in hits] == [items[i].id for i in expected]
    assert hits[0].score == pytest.approx(float(vectors[7] @ query / np.linalg.norm(query)), 1e-5)
    with pytest.raises(InvalidInputError):
        store.vector_search(scope1, np.ones(DIM + 1, dtype=np.float32), None, 5)


def test_ann_path_finds_the_nearest_items(
    open_store: Callable[..., SQLiteStore], make_item: ItemFactory, rng: np.random.Generator
) -> None:
    store = open_store(ann_threshold=20)
    store.put_cube(MemCube(id="c1", name="c1", owner="u1", created_at=T0, updated_at=T0))
    items = [make_item(f"v{n}") for n in range(300)]
    vectors = unit(rng, 300)
    store.add_items(items, vectors, FINGERPRINT)
    scope = Scope("u1", ("c1",))
    for n in (0, 123, 299):
        assert store.vector_search(scope, vectors[n], None, 3)[0].id == items[n].id
    store.delete_items(scope, [items[123].id])
    assert store.vector_search(scope, vectors[123], None, 3)[0].id != items[123].id
    extra = make_item("late")
    extra_vector = unit(rng, 1)
    store.add_items([extra], extra_vector, FINGERPRINT)
    assert store.vector_search(scope, extra_vector[0], None, 1)[0].id == extra.id


def test_filtered_vector_search_falls_back_to_exact_scoring(
    open_store: Callable[..., SQLiteStore], make_item: ItemFactory, rng: np.random.Generator
) -> None:
    store = open_store(ann_threshold=50)
    store.put_cube(MemCube(id="c1", name="c1", owner="u1", created_at=T0, updated_at=T0))
    items = [make_item(f"v{n}", tags=["rare"] if n % 100 == 0 else []) for n in range(600)]
    vectors = unit(rng, 600)
    store.add_items(items, vectors, FINGERPRINT)
    scope = Scope("u1", ("c1",))
    rare = parse_filter({"tags": "rare"})
    hits = store.vector_search(scope, vectors[1], rare, 10)
    rare_ids = [items[n].id for n in range(0, 600, 100)]
    assert sorted(h.id for h in hits) == sorted(rare_ids)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_embedder_mismatch_names_the_fix(
    store: SQLiteStore, make_item: ItemFactory, rng: np.random.Generator
) -> None:
    store.add_items([make_item("a")], unit(rng, 1), FINGERPRINT)
    assert store.get_cube("c1").embedder_fingerprint == FINGERPRINT  # type: ignore[union-attr]
    with pytest.raises(EmbedderMismatchError, match="memosys reembed --data DIR"):
        store.add_items([make_item("b")], unit(rng, 1), "other-model")
    store.add_items([make_item("c")], None, "other-model")  # no vectors: text only


def test_replace_vectors_records_the_new_embedder(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, rng: np.random.Generator
) -> None:
    a, b = make_item("a"), make_item("b")
    store.add_items([a, b], unit(rng, 2), FINGERPRINT)
    assert store.vector_search(scope1, unit(rng, 1)[0], None, 5)  # cache loaded
    new = unit(rng, 1, 8)
    store.replace_vectors("c1", [a.id], new, "new-model/8")
    assert store.get_cube("c1").embedder_fingerprint == "new-model/8"  # type: ignore[union-attr]
    hits = store.vector_search(scope1, new[0], None, 5)
    assert [h.id for h in hits] == [a.id]  # b's old-model vector was dropped
    store.add_items([make_item("c")], unit(rng, 1, 8), "new-model/8")
    assert store.stats()["vectors"] == 2


def test_choose_terms_keeps_rare_terms_within_the_posting_budget() -> None:
    terms = ["common", "rare", "absent", "medium"]
    assert choose_terms(terms, [900, 3, 0, 60], budget=100) == ["rare", "medium"]
    assert choose_terms(terms, [900, 0, 0, 950], budget=100) == ["common"]
    assert choose_terms(terms, [0, 0, 0, 0], budget=100) == []


def test_text_search_finds_scoped_matches_buried_under_other_cubes(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory
) -> None:
    mine = [make_item(f"apple pie number {n}") for n in range(2)]
    theirs = [make_item(f"apple tart {n}", cube_id="c2", user_id="u2") for n in range(80)]
    store.add_items(mine + theirs, None, None)
    hits = store.text_search(scope1, "apple", None, 5)
    assert sorted(h.id for h in hits) == sorted(i.id for i in mine)


def test_large_cube_index_builds_in_background_and_is_reused_after_reopen(
    open_store: Callable[..., SQLiteStore], make_item: ItemFactory, rng: np.random.Generator,
    db_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vector_index, "SYNC_BUILD_BELOW", 10)
    first = open_store(ann_threshold=20)
    items, vectors = vector_cube(first, make_item, rng, 300)
    scope = Scope("u1", ("c1",))
    assert first.vector_search(scope, vectors[5], None, 1)[0].id == items[5].id
    assert first.wait_for_vector_index("c1")
    folder = db_path.parent / f"{db_path.name}.ann"
    [saved] = folder.glob("*.usearch")
    stamp = saved.stat().st_mtime_ns
    first.close()

    second = open_store(ann_threshold=20)
    late = make_item("late")
    late_vector = unit(rng, 1)
    second.add_items([late], late_vector, FINGERPRINT)
    second.delete_items(scope, [items[5].id, items[6].id])
    assert second.wait_for_vector_index("c1")
    assert second.vector_search(scope, late_vector[0], None, 1)[0].id == late.id
    assert items[5].id not in {h.id for h in second.vector_search(scope, vectors[5], None, 5)}
    assert saved.stat().st_mtime_ns == stamp  # loaded from disk, not rebuilt

    second.close()  # it removed vectors since the file was saved: saved again, without it
    [resaved] = folder.glob("*.usearch")
    assert resaved != saved  # a new file; the earlier one is removed
    data = resaved.read_bytes()  # the late add took one freed slot; the other is zeroed
    assert not any(v.astype(np.float16).tobytes() in data for v in vectors[5:7])
    assert vectors[7].astype(np.float16).tobytes() in data
    third = open_store(ann_threshold=20)
    assert third.wait_for_vector_index("c1")
    assert third.vector_search(scope, late_vector[0], None, 1)[0].id == late.id


def test_a_process_that_removed_many_vectors_saves_its_index_without_them(
    open_store: Callable[..., SQLiteStore], make_item: ItemFactory, rng: np.random.Generator,
    db_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It forgets which removed vectors its index may still hold only by saving it, so it
    saves once many wait, not only at close."""
    monkeypatch.setattr(vector_cache, "PUBLISH_AFTER", 4)
    store = open_store(ann_threshold=20)
    items, vectors = vector_cube(store, make_item, rng, 300)
    scope = Scope("u1", ("c1",))
    assert store.wait_for_vector_index("c1")
    folder = db_path.parent / f"{db_path.name}.ann"
    [built] = folder.glob("*.usearch")
    store.delete_items(scope, [item.id for item in items[:5]])
    store.vector_search(scope, vectors[9], None, 1)
    assert store._vectors.wait_inserted(timeout=30)
    [saved] = folder.glob("*.usearch")
    assert saved != built
    data = saved.read_bytes()
    assert not any(v.astype(np.float16).tobytes() in data for v in vectors[:5])
    assert vectors[9].astype(np.float16).tobytes() in data
    index = store._vectors._cubes["c1"]
    assert index is not None and index.removed_held == 5  # a reused slot frees its entry


def test_bounded_query_takes_candidates_from_rare_terms_and_scores_with_all() -> None:
    terms = ["common", "rare", "absent"]
    assert bounded_query(terms, [50_000, 3, 0]) == '("rare") AND ("rare" OR "common")'
    assert bounded_query(["a", "b"], [10, 20]) == '"a" OR "b"'


def test_selective_filter_on_text_search_checks_every_match(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory
) -> None:
    items = [make_item(f"apple pie {n}", tags=["rare"] if n % 50 == 0 else []) for n in range(400)]
    store.add_items(items, None, None)
    hits = store.text_search(scope1, "apple", parse_filter({"tags": "rare"}), 10)
    assert sorted(h.id for h in hits) == sorted(items[n].id for n in range(0, 400, 50))
