"""The in-memory BM25 mirror ranks exactly as FTS5 does, and follows every change to the index."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from store_helpers import T0, ItemFactory

from memosys.core.cube import MemCube
from memosys.core.filters import parse_filter
from memosys.stores.base import Scope, ScoredId
from memosys.stores.sqlite import SQLiteStore, fts, search, text_mirror, text_postings
from memosys.stores.sqlite.connection import Database
from memosys.stores.sqlite.fts import query_terms
from memosys.stores.sqlite.text_mirror import TextMirror

WORDS = [
    "alice", "bob", "carmen", "deepak", "elena", "painted", "repaired", "booked", "bicycle",
    "vase", "lasagna", "tickets", "novel", "garden", "camera", "boots", "mural", "piano",
    "market", "lake", "berlin", "school", "monday", "summer", "report", "chess", "running",
    "runs", "ran", "runner", "café", "cafe", "naïve", "zürich", "zurich", "straße", "2024", "42",
    "7", "x1", "v2", "über", "the", "and", "of", "a", "to", "in",
]
COMMON = "memory"  # in most texts: over the (test's) posting budget

QUERIES = [
    "alice painted the vase",
    "Who repaired a bicycle near the lake?",
    "the and of",  # stopwords only
    "café zurich",  # accents: unicode61 folds them
    "Cafe ZÜRICH naïve",
    "straße",
    "2024 42",  # digits
    "x1 v2 7",
    "running runner",  # two terms, one porter stem
    "xylophone quasar",  # absent terms
    "memory",  # only a term over the budget
    "memory alice",
    "memory running bicycle camera piano chess boots",
    "aᦰb alice",  # unicode61 splits a term the query splitter keeps whole: FTS5 answers
    "",
]


def _text(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(0, 14))]
    if rng.random() < 0.8:
        words.append(COMMON)
    return " ".join(words)


@pytest.fixture
def cubes(store: SQLiteStore) -> SQLiteStore:
    store.put_cube(MemCube(id="c3", name="c3", owner="u1", created_at=T0, updated_at=T0))
    return store


@pytest.fixture
def fts5(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to the store's file, for FTS5's own answers."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    yield conn
    conn.close()


def _fill(store: SQLiteStore, make_item: ItemFactory, count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    items = [
        make_item(_text(rng), cube_id=rng.choice(["c1", "c1", "c3", "c2"]),
                  user_id="u2" if n % 7 == 0 else "u1", kind=rng.choice(["fact", "note"]))
        for n in range(count)
    ]
    for cube in ("c1", "c2", "c3"):
        if batch := [item for item in items if item.cube_id == cube]:
            store.add_items(batch, None, None)
    return [item.id for item in items]


def _same(found: list[ScoredId], expected: list[ScoredId]) -> None:
    assert [h.id for h in found] == [h.id for h in expected]
    for hit, want in zip(found, expected, strict=True):
        assert hit.score == pytest.approx(want.score, rel=1e-9, abs=0)


def _assert_mirrors_fts5(
    mirror: TextMirror, conn: sqlite3.Connection, fts5: sqlite3.Connection, scopes: list[Scope]
) -> None:
    filters = parse_filter({"kind": "fact"})
    for query in QUERIES:
        for scope in scopes:
            for limit, where in ((10, None), (3, None), (50, filters)):
                expected = search.text_search(fts5, scope, query, where, limit, T0)
                found = search.text_search(conn, scope, query, where, limit, T0, mirror)
                _same(found, expected)


def _uses_mirror(mirror: TextMirror, conn: sqlite3.Connection) -> bool:
    return mirror.postings(conn, query_terms(QUERIES[0])) is not None


SCOPES = [Scope("u1", ("c1",)), Scope("u1", ("c1", "c3")), Scope("u2", ("c2",))]


@pytest.fixture
def mirrored(db_path: Path) -> Iterator[tuple[TextMirror, sqlite3.Connection]]:
    """A mirror of the store's file, as another process would hold it, and its connection."""
    db = Database(db_path, 10.0)
    mirror = TextMirror(db, inline_rows=100_000)
    with db.read() as conn:
        yield mirror, conn
    db.close()


@pytest.mark.parametrize("budget", [fts.POSTING_BUDGET, 150])
def test_mirror_ranks_every_query_exactly_as_fts5(
    cubes: SQLiteStore,
    make_item: ItemFactory,
    fts5: sqlite3.Connection,
    mirrored: tuple[TextMirror, sqlite3.Connection],
    budget: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fts, "POSTING_BUDGET", budget)
    monkeypatch.setattr(search, "CANDIDATE_CAP", 400)  # the newest candidates only
    _fill(cubes, make_item, 3_000)
    mirror, conn = mirrored
    _assert_mirrors_fts5(mirror, conn, fts5, SCOPES)
    assert _uses_mirror(mirror, conn)
    assert mirror.postings(conn, query_terms("aᦰb alice")) is None


def test_store_search_goes_through_its_mirror_with_fts5s_results(
    cubes: SQLiteStore, make_item: ItemFactory, fts5: sqlite3.Connection
) -> None:
    _fill(cubes, make_item, 500)
    scope = SCOPES[1]
    for query in QUERIES:
        expected = search.text_search(fts5, scope, query, None, 10, T0)
        _same(cubes.text_search(scope, query, None, 10), expected)
    assert cubes.text_search(scope, "alice", None, 5)  # the store's mirror answered this one
    assert cubes._text.current(fts5) is not None  # loaded by the first search


def test_the_first_writes_after_a_search_are_taken_in_before_the_next_search(
    cubes: SQLiteStore, make_item: ItemFactory, fts5: sqlite3.Connection
) -> None:
    _fill(cubes, make_item, 500)
    mirror, scope = cubes._text, SCOPES[1]
    cubes.text_search(scope, "alice", None, 10)  # loads the mirror
    _fill(cubes, make_item, 40, seed=4)  # three commits (one per cube)
    assert mirror.wait_followed(timeout=30)
    followed = mirror._index
    last = fts5.execute("SELECT max(seq) FROM text_changes").fetchone()[0]
    assert followed is not None and followed.seq == last
    for query in QUERIES:
        expected = search.text_search(fts5, scope, query, None, 10, T0)
        _same(cubes.text_search(scope, query, None, 10), expected)
    assert mirror._index is followed  # the searches had nothing left to take in
    cubes.close()
    assert not mirror._follower.alive


def test_writes_past_the_follows_of_a_search_wait_for_the_next_search(
    cubes: SQLiteStore, make_item: ItemFactory, fts5: sqlite3.Connection
) -> None:
    _fill(cubes, make_item, 300)
    mirror, scope = cubes._text, SCOPES[1]
    cubes.text_search(scope, "alice", None, 10)
    rng = random.Random(3)
    for _ in range(text_mirror.FOLLOWS_PER_SEARCH):  # taken in by the follower
        cubes.add_items([make_item(_text(rng)) for _ in range(10)], None, None)
    assert mirror.wait_followed(timeout=30)
    followed = mirror._index
    for seed in (5, 6):
        _fill(cubes, make_item, 40, seed=seed)  # left for the next search
    assert mirror.wait_followed(timeout=30) and mirror._index is followed
    for query in QUERIES:
        expected = search.text_search(fts5, scope, query, None, 10, T0)
        _same(cubes.text_search(scope, query, None, 10), expected)
    assert mirror._index is not followed  # the search took the writes in


@pytest.mark.parametrize("merge_at", [text_mirror.MERGE_AT, 0])  # 0: changes fold in at once
def test_mirror_follows_updates_deletes_and_forgetting(
    cubes: SQLiteStore,
    make_item: ItemFactory,
    fts5: sqlite3.Connection,
    mirrored: tuple[TextMirror, sqlite3.Connection],
    merge_at: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(text_mirror, "MERGE_AT", merge_at)
    ids = _fill(cubes, make_item, 800)
    mirror, conn = mirrored
    _assert_mirrors_fts5(mirror, conn, fts5, SCOPES)
    scope = Scope("u1", ("c1", "c3"))
    items = cubes.get_items(scope, ids)[:60]
    rng = random.Random(1)
    for item in items[:20]:
        cubes.update_item(scope, item.model_copy(update={"content": _text(rng)}), None)
    cubes.delete_items(scope, [item.id for item in items[20:40]])
    cubes.versions.forget_items(scope, [item.id for item in items[40:50]], allow_frozen=False)
    cubes.versions.compact()
    _fill(cubes, make_item, 100, seed=2)
    _assert_mirrors_fts5(mirror, conn, fts5, SCOPES)
    gone = {item.id for item in items[20:50]}
    for query in QUERIES:
        assert not gone & {h.id for h in search.text_search(conn, scope, query, None, 50, T0,
                                                             mirror)}
    assert _uses_mirror(mirror, conn)


WRITE_FROM_OTHER_PROCESS = """
import sys
from datetime import UTC, datetime
from memosys.core.clock import SystemClock
from memosys.core.items import MemoryItem
from memosys.settings import StoreSettings
from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore

store = SQLiteStore(sys.argv[1], StoreSettings(), SystemClock())
now = datetime.now(UTC)
scope = Scope("u1", ("c1", "c3"))
store.add_items([MemoryItem(id=f"far{k}", cube_id="c1", user_id="u1", owner="u1",
                            content=f"alice painted {k} zeppelin", created_at=now,
                            updated_at=now) for k in range(30)], None, None)
old = store.list_items(scope, limit=10)
store.delete_items(scope, [item.id for item in old[:5]])
for item in old[5:]:
    store.update_item(scope, item.model_copy(update={"content": "zeppelin bicycle"}), None)
store.close()
"""


def test_mirror_follows_writes_by_another_process(
    cubes: SQLiteStore, make_item: ItemFactory, fts5: sqlite3.Connection, db_path: Path
) -> None:
    _fill(cubes, make_item, 400)
    scope = SCOPES[1]
    assert cubes.text_search(scope, "alice", None, 5)  # loads the store's mirror
    subprocess.run([sys.executable, "-c", WRITE_FROM_OTHER_PROCESS, str(db_path)],
                   check=True, timeout=60)
    for query in [*QUERIES, "zeppelin", "zeppelin bicycle alice"]:
        expected = search.text_search(fts5, scope, query, None, 10, T0)
        _same(cubes.text_search(scope, query, None, 10), expected)
    assert len(cubes.text_search(scope, "zeppelin", None, 50)) == 35


@pytest.mark.parametrize("backlog", [text_mirror.MAX_BACKLOG, 10])  # 10: loads again
def test_mirror_follows_writes_by_another_store_on_the_file(
    cubes: SQLiteStore,
    open_store: Callable[..., SQLiteStore],
    make_item: ItemFactory,
    fts5: sqlite3.Connection,
    backlog: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(text_mirror, "MAX_BACKLOG", backlog)
    _fill(cubes, make_item, 400)
    scope = SCOPES[1]
    assert cubes.text_search(scope, "alice", None, 5)  # loads the first store's mirror
    other = open_store()
    ids = _fill(other, make_item, 300, seed=3)
    other.delete_items(scope, [item.id for item in other.get_items(scope, ids)[:5]])
    for query in QUERIES:
        expected = search.text_search(fts5, scope, query, None, 10, T0)
        _same(cubes.text_search(scope, query, None, 10), expected)


def test_a_mirror_behind_the_trimmed_log_loads_again_and_stays_exact(
    cubes: SQLiteStore,
    make_item: ItemFactory,
    fts5: sqlite3.Connection,
    mirrored: tuple[TextMirror, sqlite3.Connection],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(text_mirror, "PRUNE_KEEP", 4)
    _fill(cubes, make_item, 200)
    mirror, conn = mirrored
    assert _uses_mirror(mirror, conn)
    for seed in range(10, 22):
        _fill(cubes, make_item, 1, seed=seed)
    low, high, count = fts5.execute(
        "SELECT min(seq), max(seq), count(*) FROM text_changes"
    ).fetchone()
    assert count <= 2 * 4 + 1 and high - low == count - 1 and high == 212
    _assert_mirrors_fts5(mirror, conn, fts5, SCOPES)
    assert _uses_mirror(mirror, conn)


def test_background_load_answers_with_fts5_until_ready_then_with_the_mirror(
    open_store: Callable[..., SQLiteStore],
    make_item: ItemFactory,
    fts5: sqlite3.Connection,
    db_path: Path,
) -> None:
    store = open_store(text_mirror_inline_rows=10)
    store.put_cube(MemCube(id="c1", name="c1", owner="u1", created_at=T0, updated_at=T0))
    store.put_cube(MemCube(id="c2", name="c2", owner="u2", created_at=T0, updated_at=T0))
    store.put_cube(MemCube(id="c3", name="c3", owner="u1", created_at=T0, updated_at=T0))
    _fill(store, make_item, 2_000)
    db = Database(db_path, 10.0)
    mirror = TextMirror(db, inline_rows=10)
    try:
        with db.read() as conn:
            assert mirror.current(conn) is None  # loading in the background
            _assert_mirrors_fts5(mirror, conn, fts5, SCOPES)  # during the load, then after
            assert mirror.wait_loaded(timeout=60)
            _assert_mirrors_fts5(mirror, conn, fts5, SCOPES)
            assert _uses_mirror(mirror, conn)
    finally:
        db.close()
    scope = SCOPES[0]
    for query in QUERIES:
        expected = search.text_search(fts5, scope, query, None, 10, T0)
        _same(store.text_search(scope, query, None, 10), expected)


def test_searches_on_many_threads_beside_writes_end_as_fts5_ranks(
    cubes: SQLiteStore, make_item: ItemFactory, fts5: sqlite3.Connection
) -> None:
    _fill(cubes, make_item, 600)
    scope = SCOPES[1]
    writing = threading.Event()
    writing.set()

    def searching(start: int) -> int:
        done = 0
        while writing.is_set() or done < 5:
            cubes.text_search(scope, QUERIES[(start + done) % len(QUERIES)], None, 10)
            done += 1
        return done

    with ThreadPoolExecutor(4) as pool:
        searchers = [pool.submit(searching, n) for n in range(4)]
        for seed in range(20):
            _fill(cubes, make_item, 20, seed=100 + seed)
        writing.clear()
        assert all(s.result() >= 5 for s in searchers)
    for query in QUERIES:
        _same(cubes.text_search(scope, query, None, 10),
              search.text_search(fts5, scope, query, None, 10, T0))


def test_a_search_inside_a_write_sees_it_and_a_rolled_back_text_never_reaches_the_mirror(
    cubes: SQLiteStore, make_item: ItemFactory
) -> None:
    _fill(cubes, make_item, 300)
    scope = SCOPES[0]
    assert cubes.text_search(scope, "alice", None, 5)  # the mirror is loaded
    item = make_item("zeppelin")
    with pytest.raises(RuntimeError), cubes.transaction():
        cubes.add_items([item], None, None)
        assert [h.id for h in cubes.text_search(scope, "zeppelin", None, 5)] == [item.id]
        raise RuntimeError("roll back")
    assert cubes.text_search(scope, "zeppelin", None, 5) == []


EXIT_DURING_LOAD = """
import sys
from datetime import UTC, datetime
from memosys.core.clock import SystemClock
from memosys.core.cube import MemCube
from memosys.core.items import MemoryItem
from memosys.settings import StoreSettings
from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore

store = SQLiteStore(sys.argv[1], StoreSettings(text_mirror_inline_rows=10), SystemClock())
now = datetime.now(UTC)
store.put_cube(MemCube(id="c1", name="c1", owner="u1", created_at=now, updated_at=now))
items = [MemoryItem(id=f"i{k}", cube_id="c1", user_id="u1", owner="u1",
                    content=f"item {k} of word{k % 997} and word{k % 13}",
                    created_at=now, updated_at=now) for k in range(20_000)]
store.add_items(items, None, None)
print(len(store.text_search(Scope("u1", ("c1",)), "word5 word7", None, 5)), flush=True)
"""


def test_process_exits_cleanly_while_the_mirror_loads_in_the_background(db_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", EXIT_DURING_LOAD, str(db_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "5"


def test_growing_an_array_leaves_the_snapshots_that_hold_it_unchanged() -> None:
    first = np.arange(3, dtype=np.int64)
    second = text_postings.extended(first, 5, -1)
    second[3:] = [7, 8]
    third = text_postings.extended(second, 9, 0)  # room in second's buffer: no copy
    third[5:] = [10, 11, 12, 13]
    assert third.base is second.base
    assert first.tolist() == [0, 1, 2]
    assert second.tolist() == [0, 1, 2, 7, 8]
    assert third.tolist() == [0, 1, 2, 7, 8, 10, 11, 12, 13]
    big = text_postings.extended(third, 100, 5)  # past the buffer: moves
    assert big.base is not third.base and big[9:].tolist() == [5] * 91
    assert third.tolist() == [0, 1, 2, 7, 8, 10, 11, 12, 13]
