"""Vectors given by the caller: one per text, or one for the query; unit length; clear errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from memosys.api.given_vectors import checked_embeddings, checked_query_vector
from memosys.core.errors import InvalidInputError


def test_given_vectors_come_back_as_unit_float32() -> None:
    rows = checked_embeddings([[3.0, 4.0], [0.0, 2.0]], 2, 2)
    assert rows.dtype == np.float32 and np.allclose(rows, [[0.6, 0.8], [0.0, 1.0]])
    for shape in ((2,), (1, 2)):
        query = checked_query_vector(np.array([3.0, 4.0]).reshape(shape), 2)
        assert query.shape == (2,) and np.allclose(query, [0.6, 0.8])


@pytest.mark.parametrize(("vector", "problem"), [
    ([1.0, 2.0, 3.0], "one vector of 2 numbers, the configured embedder's size, got shape (3,)"),
    ([[1.0, 2.0], [3.0, 4.0]], "got shape (2, 2)"),
    (["x", 1.0], "query_vector must be numbers"),
    ([float("inf"), 1.0], "query_vector must be finite numbers"),
    ([0.0, 0.0], "query_vector must not hold an all-zero vector"),
])
def test_a_query_vector_that_is_not_one_usable_vector_is_refused(vector: object,
                                                                  problem: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(problem)):
        checked_query_vector(vector, 2)


def test_embeddings_must_be_one_per_text() -> None:
    with pytest.raises(InvalidInputError, match=r"must have shape \(3, 2\)"):
        checked_embeddings([[1.0, 0.0]], 3, 2)
