"""Constants and helpers shared by the SQLite store tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from memosys.core.cube import MemCube
from memosys.core.items import MemoryItem
from memosys.stores.sqlite import SQLiteStore

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
DIM = 16
FINGERPRINT = "test-embedder/16"

ItemFactory = Callable[..., MemoryItem]


def unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    """``n`` random unit float32 vectors."""
    m = rng.standard_normal((n, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def vector_cube(
    store: SQLiteStore, make_item: ItemFactory, rng: np.random.Generator, n: int
) -> tuple[list[MemoryItem], np.ndarray]:
    """Cube ``c1`` of user ``u1`` in ``store``, holding ``n`` items and their random vectors."""
    store.put_cube(MemCube(id="c1", name="c1", owner="u1", created_at=T0, updated_at=T0))
    items = [make_item(f"v{i}") for i in range(n)]
    vectors = unit(rng, n)
    store.add_items(items, vectors, FINGERPRINT)
    return items, vectors
