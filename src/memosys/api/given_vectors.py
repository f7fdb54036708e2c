"""Vectors a caller gives instead of having memosys embed: checked, then made unit length.

``add_texts(embeddings=...)`` stores them and ``search(query_vector=...)``
searches with one. They must come from the configured embedder, whose
fingerprint each cube records: memosys cannot tell another model's vectors of
the same size apart, so only their shape and values are checked.
"""

from __future__ import annotations

import numpy as np

from memosys.core.errors import InvalidInputError
from memosys.stores.base import Vectors


def checked_embeddings(embeddings: object, count: int, dims: int) -> Vectors:
    """``count`` vectors of ``dims`` numbers, one per text, as unit float32 rows."""
    array = _numbers(embeddings, "embeddings")
    if array.ndim != 2 or array.shape != (count, dims):
        raise InvalidInputError(
            f"embeddings must have shape ({count}, {dims}) to match the texts and the "
            f"configured embedder, got {array.shape}"
        )
    return _unit_rows(array, "embeddings")


def checked_query_vector(vector: object, dims: int) -> Vectors:
    """One vector of ``dims`` numbers (shape ``(dims,)`` or ``(1, dims)``) as a unit
    float32 vector."""
    array = _numbers(vector, "query_vector")
    if array.shape not in ((dims,), (1, dims)):
        raise InvalidInputError(
            f"query_vector must be one vector of {dims} numbers, the configured embedder's "
            f"size, got shape {array.shape}"
        )
    unit: Vectors = _unit_rows(array.reshape(1, dims), "query_vector")[0]
    return unit


def _numbers(value: object, name: str) -> Vectors:
    try:
        return np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be numbers: {exc}") from exc


def _unit_rows(array: Vectors, name: str) -> Vectors:
    if not np.isfinite(array).all():
        raise InvalidInputError(f"{name} must be finite numbers, not NaN or infinity")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if (norms == 0).any():
        raise InvalidInputError(f"{name} must not hold an all-zero vector")
    unit: Vectors = array / norms
    return unit
