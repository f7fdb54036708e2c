"""The feature-hashing embedder."""

from __future__ import annotations

import numpy as np
import pytest

from memosys.core.errors import InvalidInputError
from memosys.models.embedders.hashing import HashEmbedder
from memosys.settings import HashEmbedderConfig

TEXTS = ["the cat sat on the mat", "The cat sat on a mat!", "quarterly revenue grew", "", "..."]


def test_same_text_same_vector_across_instances() -> None:
    first = HashEmbedder(HashEmbedderConfig()).embed(TEXTS)
    second = HashEmbedder(HashEmbedderConfig()).embed(TEXTS[::-1])[::-1]
    np.testing.assert_array_equal(first, second)


def test_rows_are_unit_float32_with_configured_dimensions() -> None:
    vectors = HashEmbedder(HashEmbedderConfig(dimensions=64)).embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 64)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_shared_wording_scores_higher_than_different_wording() -> None:
    cat, cat_again, revenue, *_ = HashEmbedder(HashEmbedderConfig()).embed(TEXTS)
    assert float(cat @ cat_again) > 0.7 > float(cat @ revenue)


def test_fingerprint_depends_on_dimensions() -> None:
    small = HashEmbedder(HashEmbedderConfig(dimensions=64))
    assert small.fingerprint != HashEmbedder(HashEmbedderConfig()).fingerprint
    assert small.fingerprint.startswith("hash:") and small.dimensions == 64


def test_empty_list_and_bad_input() -> None:
    embedder = HashEmbedder(HashEmbedderConfig())
    assert embedder.embed([]).shape == (0, 256)
    with pytest.raises(InvalidInputError):
        embedder.embed("not a list")
