"""warm_indexes: the search indexes load in the background before the first search."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from store_helpers import FINGERPRINT, T0, ItemFactory, unit, vector_cube

from memosys.core.cube import MemCube
from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore

SMALL = {"ann_threshold": 100, "text_mirror_inline_rows": 10}  # HNSW and a background load


def _two_cubes(
    open_store: Callable[..., SQLiteStore], make_item: ItemFactory, rng: np.random.Generator
) -> None:
    """c1: 2,500 vectors (an HNSW index built in the background); c2: 20 (exact search)."""
    store = open_store(**SMALL)
    vector_cube(store, make_item, rng, 2_500)
    store.put_cube(MemCube(id="c2", name="c2", owner="u2", created_at=T0, updated_at=T0))
    items = [make_item(f"w{i}", cube_id="c2", user_id="u2", owner="u2") for i in range(20)]
    store.add_items(items, unit(rng, 20), FINGERPRINT)
    store.close()


def test_warming_loads_the_text_mirror_and_every_cube_with_its_hnsw_index(
    open_store: Callable[..., SQLiteStore], make_item: ItemFactory, rng: np.random.Generator
) -> None:
    _two_cubes(open_store, make_item, rng)
    store = open_store(**SMALL)
    assert store._text.nbytes() == 0 and not store._vectors._cubes  # opening loads nothing
    warming = store.warm_indexes()
    warming.join(timeout=60)
    assert not warming.is_alive()
    assert store._text.nbytes() > 0
    loaded = store._vectors._cubes
    assert set(loaded) == {"c1", "c2"}
    c1, c2 = loaded["c1"], loaded["c2"]
    assert c1 is not None and c2 is not None
    assert (c1.count, c2.count) == (2_500, 20)
    assert c1.approximate and c1._ann is not None  # ready: the first search uses HNSW
    hits = store.vector_search(Scope(user_id="u1", cube_ids=("c1",)), unit(rng, 1)[0], None, 5)
    assert len(hits) == 5


def test_a_store_closed_while_warming_stops_it_quietly(
    open_store: Callable[..., SQLiteStore], make_item: ItemFactory, rng: np.random.Generator
) -> None:
    _two_cubes(open_store, make_item, rng)
    store = open_store(**SMALL)
    warming = store.warm_indexes()
    store.close()
    warming.join(timeout=60)
    assert not warming.is_alive()
