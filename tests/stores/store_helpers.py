"""Constants and helpers shared by the SQLite store tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from memosys.core.items import MemoryItem

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
DIM = 16
FINGERPRINT = "test-embedder/16"

ItemFactory = Callable[..., MemoryItem]


def unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    """``n`` random unit float32 vectors."""
    m = rng.standard_normal((n, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)
