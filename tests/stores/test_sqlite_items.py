"""Items in the SQLite store: round trip, dedup, atomicity, update, delete, listing."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from store_helpers import FINGERPRINT, T0, ItemFactory, unit

from memosys.core.clock import FixedClock
from memosys.core.cube import User
from memosys.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    StoreError,
    VersionConflictError,
)
from memosys.core.filters import parse_filter
from memosys.core.items import MemoryKind, content_hash
from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore


def test_round_trip_keeps_every_field_and_metadata_verbatim(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory
) -> None:
    metadata = {"b": [1, 2.5, None, {"x": "ü"}], "a": True, "nested": {"k": "v"}, "n": 10**15}
    item = make_item(
        "Alice moved to Lisbon", kind=MemoryKind.FACT, tags=["home", "move"], session_id="s1",
        position=3, event_time=T0 - timedelta(days=2), metadata=metadata, speaker="alice",
    )
    result = store.add_items([item], None, None)
    assert result.duplicates == [False]
    [got] = store.get_items(scope1, [item.id])
    assert got == item
    assert got.metadata == metadata
    assert list(got.metadata) == list(metadata)


def test_get_items_keeps_the_order_asked_and_skips_unknown(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory
) -> None:
    a, b = make_item("a"), make_item("b")
    store.add_items([a, b], None, None)
    assert [i.id for i in store.get_items(scope1, [b.id, "missing", a.id])] == [b.id, a.id]


def test_repeated_content_hash_returns_stored_item(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory
) -> None:
    digest = content_hash("same text")
    first = make_item("same text", content_hash=digest)
    store.add_items([first], None, None)
    again = make_item("same text", content_hash=digest)
    twin = make_item("same text", content_hash=digest)
    other_user = make_item("same text", content_hash=digest, user_id="u9")
    result = store.add_items([again, twin, other_user], None, None)
    assert result.duplicates == [True, True, False]
    assert [i.id for i in result.items] == [first.id, first.id, other_user.id]
    assert store.count_items(scope1) == 2


def test_batch_with_a_bad_vector_writes_nothing(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, rng: np.random.Generator
) -> None:
    items = [make_item(f"item {n}") for n in range(3)]
    vectors = unit(rng, 3)
    vectors[2] = 0.0
    with pytest.raises(InvalidInputError):
        store.add_items(items, vectors, FINGERPRINT)
    with pytest.raises(InvalidInputError):
        store.add_items(items, unit(rng, 2), FINGERPRINT)
    assert store.count_items(scope1) == 0
    assert store.stats()["vectors"] == 0
    assert store.text_search(scope1, "item", None, 10) == []


def test_batch_with_a_constraint_error_writes_nothing(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, rng: np.random.Generator
) -> None:
    existing = make_item("first")
    store.add_items([existing], None, None)
    clash = make_item("clash", id=existing.id)
    with pytest.raises(ConflictError):
        store.add_items([make_item("new one"), clash], unit(rng, 2), FINGERPRINT)
    assert store.count_items(scope1) == 1
    assert store.get_cube("c1").embedder_fingerprint is None  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        store.add_items([make_item("x", cube_id="nope")], None, None)


def test_update_replaces_item_text_index_and_vector(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, rng: np.random.Generator,
    db_path: Path,
) -> None:
    item = make_item("the cat sat")
    store.add_items([item], unit(rng, 1), FINGERPRINT)
    changed = item.model_copy(update={"content": "the dog ran"})
    new_vector = unit(rng, 1)
    store.update_item(scope1, changed, new_vector[0])
    assert store.get_items(scope1, [item.id])[0].content == "the dog ran"
    assert store.text_search(scope1, "cat", None, 5) == []
    assert [h.id for h in store.text_search(scope1, "dog", None, 5)] == [item.id]
    [hit] = store.vector_search(scope1, new_vector[0], None, 1)
    assert hit.id == item.id and hit.score == pytest.approx(1.0, abs=1e-5)
    assert_fts_consistent(db_path)
    moved = changed.model_copy(update={"cube_id": "c2"})
    with pytest.raises(InvalidInputError):
        store.update_item(Scope("u1", ("c1", "c2")), moved, None)


def test_an_update_made_from_an_older_version_is_refused(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, rng: np.random.Generator
) -> None:
    item = make_item("the cat sat")
    store.add_items([item], unit(rng, 1), FINGERPRINT)
    first = store.update_item(scope1, item.model_copy(update={"tags": ["pets"]}), None)
    assert first.version == 2
    with pytest.raises(VersionConflictError) as refused:
        store.update_item(scope1, item.model_copy(update={"content": "the dog ran"}), None)
    assert refused.value.detail == {"id": item.id, "version": 2, "expected_version": 1}
    (now,) = store.get_items(scope1, [item.id])
    assert (now.content, now.tags, now.version) == ("the cat sat", ["pets"], 2)


def test_delete_removes_item_everywhere(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, rng: np.random.Generator,
    db_path: Path,
) -> None:
    keep, drop = make_item("keep this"), make_item("drop this")
    vectors = unit(rng, 2)
    store.add_items([keep, drop], vectors, FINGERPRINT)
    assert store.vector_search(scope1, vectors[1], None, 1)[0].id == drop.id
    assert store.delete_items(scope1, [drop.id, drop.id]) == 1
    assert store.get_items(scope1, [drop.id]) == []
    assert [h.id for h in store.text_search(scope1, "this", None, 5)] == [keep.id]
    assert [h.id for h in store.vector_search(scope1, vectors[1], None, 5)] == [keep.id]
    assert store.stats()["vectors"] == 1
    assert_fts_consistent(db_path)


def assert_fts_consistent(db_path: Path) -> None:
    """FTS5's own check that the index matches the items' search_text."""
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO items_fts (items_fts, rank) VALUES ('integrity-check', 1)")


def test_list_count_and_order(store: SQLiteStore, scope1: Scope, make_item: ItemFactory) -> None:
    items = [
        make_item("b", position=2, event_time=T0, created_at=T0 + timedelta(seconds=1)),
        make_item("a", position=1, event_time=None, created_at=T0 + timedelta(seconds=2)),
        make_item("c", position=3, event_time=T0 - timedelta(days=1), created_at=T0),
    ]
    store.add_items(items, None, None)
    contents = lambda order: [i.content for i in store.list_items(scope1, order_by=order)]  # noqa: E731
    assert contents("created_at") == ["c", "b", "a"]
    assert contents("position") == ["a", "b", "c"]
    assert contents("event_time") == ["c", "b", "a"]
    assert [i.content for i in store.list_items(scope1, None, 1, 1, "position")] == ["b"]
    assert store.count_items(scope1, parse_filter({"position": {"$gte": 2}})) == 2
    with pytest.raises(InvalidInputError):
        store.list_items(scope1, order_by="size")  # type: ignore[arg-type]


def test_neighbours_by_position_in_the_same_session(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory
) -> None:
    session = [make_item(f"m{n}", session_id="s1", position=n) for n in range(6)]
    other = make_item("elsewhere", session_id="s2", position=2)
    store.add_items([*session, other], None, None)
    got = store.neighbours(scope1, session[3], before=2, after=1)
    assert [i.content for i in got] == ["m1", "m2", "m4"]
    assert store.neighbours(scope1, other, 5, 5) == []


def test_record_access_updates_get(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory
) -> None:
    item = make_item()
    store.add_items([item], None, None)
    at = T0 + timedelta(hours=1)
    store.record_access([item.id], at)
    store.record_access([item.id], at)
    [got] = store.get_items(scope1, [item.id])
    assert (got.access_count, got.last_accessed_at) == (2, at)
    assert store.count_items(scope1, parse_filter({"access_count": 2})) == 1


def test_expired_items_are_invisible(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, clock: FixedClock,
    rng: np.random.Generator,
) -> None:
    soon = make_item("short lived fact", expires_at=T0 + timedelta(minutes=5), session_id="s",
                     position=1, content_hash="h1")
    anchor = make_item("anchor fact", session_id="s", position=2)
    vectors = unit(rng, 2)
    store.add_items([soon, anchor], vectors, FINGERPRINT)
    assert store.count_items(scope1) == 2
    clock.set(T0 + timedelta(minutes=6))
    assert store.get_items(scope1, [soon.id]) == []
    assert [i.id for i in store.list_items(scope1)] == [anchor.id]
    assert store.count_items(scope1) == 1
    assert store.neighbours(scope1, anchor, 1, 1) == []
    assert store.text_search(scope1, "short lived", None, 5) == []
    assert [h.id for h in store.vector_search(scope1, vectors[0], None, 5)] == [anchor.id]
    renewed = make_item("short lived fact", content_hash="h1")
    assert store.add_items([renewed], None, None).duplicates == [False]


def test_repeat_vectors_are_those_of_the_live_stored_items_repeated_exactly(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, clock: FixedClock,
    rng: np.random.Generator,
) -> None:
    stored = [make_item("kept", content_hash="h1"),
              make_item("expiring", content_hash="h2", expires_at=T0 + timedelta(minutes=5)),
              make_item("no hash")]
    vectors = unit(rng, 3)
    store.add_items(stored, vectors, FINGERPRINT)
    asked = [make_item("new", content_hash="h9"), make_item("kept", content_hash="h1"),
             make_item("kept", content_hash="h1", user_id="u2"),  # another writer
             make_item("kept", content_hash="h1", cube_id="c2"),  # another cube
             make_item("expiring", content_hash="h2"), make_item("no hash")]
    found = store.repeat_vectors(asked, FINGERPRINT)
    assert list(found) == [1, 4]
    np.testing.assert_allclose([found[1], found[4]], vectors[:2], atol=1e-6)  # as stored
    assert store.repeat_vectors(asked, "another-embedder/16") == {}
    clock.set(T0 + timedelta(minutes=6))
    assert list(store.repeat_vectors(asked, FINGERPRINT)) == [1]
    store.delete_items(scope1, [stored[0].id])
    assert store.repeat_vectors(asked, FINGERPRINT) == {}


def test_users_cubes_and_stats(store: SQLiteStore) -> None:
    user = User(id="u1", name="Ann", created_at=T0, metadata={"team": "x"})
    assert store.put_user(user) == user
    assert store.get_user("u1") == user and store.get_user("nope") is None
    assert [c.id for c in store.list_cubes()] == ["c1", "c2"]
    assert [c.id for c in store.list_cubes(owner="u2")] == ["c2"]
    assert store.find_cube("u1", "c1").id == "c1"  # type: ignore[union-attr]
    stats = store.stats()
    assert (stats["users"], stats["cubes"], stats["items"]) == (1, 2, 0)
    assert stats["db_bytes"] > 0


def test_threads_share_one_store(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, rng: np.random.Generator
) -> None:
    batches = [[make_item(f"thread {t} item {n}") for n in range(20)] for t in range(4)]
    vectors = [unit(rng, 20) for _ in batches]

    def work(t: int) -> int:
        store.add_items(batches[t], vectors[t], FINGERPRINT)
        found = store.vector_search(scope1, vectors[t][0], None, 1)
        store.text_search(scope1, f"thread {t}", None, 5)
        return int(found[0].id == batches[t][0].id)

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sum(pool.map(work, range(4))) == 4
    assert store.count_items(scope1) == 80


def test_closed_store_raises_store_error(store: SQLiteStore, scope1: Scope) -> None:
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.count_items(scope1)
