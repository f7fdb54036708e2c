"""Reads on several threads: they run beside an open write and agree with serial reads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from store_helpers import FINGERPRINT, T0, ItemFactory, unit

from held_write import on_another_thread, write_held_open
from memosys.core.clock import FixedClock
from memosys.core.cube import MemCube
from memosys.settings import StoreSettings
from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore


def test_reads_do_not_wait_for_a_write_open_on_another_thread(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, rng: np.random.Generator
) -> None:
    item = make_item("the lighthouse keeper painted the door")
    vectors = unit(rng, 1)
    store.add_items([item], vectors, FINGERPRINT)
    with write_held_open(store._db.write):
        reads = on_another_thread(
            lambda: (
                [h.id for h in store.text_search(scope1, "lighthouse", None, 5)],
                [h.id for h in store.vector_search(scope1, vectors[0], None, 5)],
                [i.id for i in store.get_items(scope1, [item.id])],
            )
        )
    assert reads == ([item.id], [item.id], [item.id])


def test_a_read_inside_a_write_sees_it_and_other_threads_do_not(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory
) -> None:
    item = make_item("uncommitted note")
    with store._db.write():
        store.add_items([item], None, None)
        assert [i.id for i in store.get_items(scope1, [item.id])] == [item.id]
        assert on_another_thread(lambda: store.get_items(scope1, [item.id])) == []
    assert [i.id for i in store.get_items(scope1, [item.id])] == [item.id]


def test_concurrent_searches_beside_writes_agree_with_serial_searches(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, rng: np.random.Generator
) -> None:
    words = ["harbour", "meadow", "violin", "glacier", "lantern", "orchard", "compass", "quarry"]
    items = [make_item(f"{words[n % 8]} story number {n}") for n in range(400)]
    vectors = unit(rng, 400)
    store.add_items(items, vectors, FINGERPRINT)
    queries = unit(rng, 24)

    def searches(n: int) -> tuple[list[str], list[str]]:
        text = [h.id for h in store.text_search(scope1, words[n % 8], None, 10)]
        dense = [h.id for h in store.vector_search(scope1, queries[n], None, 10)]
        return text, dense

    serial = [searches(n) for n in range(24)]
    others = [make_item("unrelated", cube_id="c2", user_id="u2") for _ in range(200)]
    with ThreadPoolExecutor(6) as pool:
        writes = pool.submit(
            lambda: [
                store.add_items(others[i : i + 20], unit(rng, 20), FINGERPRINT)
                for i in range(0, 200, 20)
            ]
        )
        parallel = list(pool.map(searches, list(range(24)) * 4))
        writes.result(timeout=60)
    assert parallel == serial * 4


def test_an_in_memory_store_reads_its_own_database(
    clock: FixedClock, make_item: ItemFactory, scope1: Scope
) -> None:
    store = SQLiteStore(":memory:", StoreSettings(), clock)
    try:
        store.put_cube(MemCube(id="c1", name="c1", owner="u1", created_at=T0, updated_at=T0))
        item = make_item("kept in memory")
        store.add_items([item], None, None)
        assert [i.id for i in store.get_items(scope1, [item.id])] == [item.id]
    finally:
        store.close()


def test_a_write_brings_loaded_vector_indexes_up_to_date_itself(
    store: SQLiteStore, scope1: Scope, make_item: ItemFactory, rng: np.random.Generator
) -> None:
    store.add_items([make_item("first")], unit(rng, 1), FINGERPRINT)
    store.vector_search(scope1, unit(rng, 1)[0], None, 1)  # loads the cube's index
    index = store._vectors._cubes["c1"]
    assert index is not None and index.count == 1
    fresh = [make_item(f"later {n}") for n in range(5)]
    vectors = unit(rng, 5)
    store.add_items(fresh, vectors, FINGERPRINT)
    assert index.count == 6 and not store._vectors._dirty  # no search needed to catch up
    with store._db.write():  # inside an outer transaction: once that commits
        store.add_items([make_item("nested")], unit(rng, 1), FINGERPRINT)
        assert index.count == 6
    assert index.count == 7 and not store._vectors._dirty
    try:
        with store._db.write():  # rolled back: nothing to catch up
            store.add_items([make_item("undone")], unit(rng, 1), FINGERPRINT)
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    assert index.count == 7
    assert store.vector_search(scope1, vectors[2], None, 1)[0].id == fresh[2].id
