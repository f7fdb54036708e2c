"""Packed vectors: float32 rows in one base64 string, and clear errors for what is not that."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from memosys.api.packed_vectors import pack, pack_one, unpack
from memosys.core.errors import InvalidInputError


def test_a_matrix_comes_back_as_its_float32_values_row_by_row() -> None:
    matrix = np.random.default_rng(1).standard_normal((3, 5))  # float64, not unit
    packed = pack(matrix, 3)
    assert packed is not None
    assert len(base64.b64decode(packed)) == 3 * 5 * 4
    back = unpack(packed, 3, "embeddings_base64")
    assert back.dtype == np.float32 and back.shape == (3, 5) and back.flags.writeable
    assert np.array_equal(back, matrix.astype(np.float32))
    assert pack([[1, 2], [3, 4]], 2) == base64.b64encode(
        np.array([1, 2, 3, 4], dtype="<f4").tobytes()).decode()


@pytest.mark.parametrize("embeddings", [
    [[1.0, 2.0], [3.0]],  # ragged
    [[float("nan"), 1.0]],  # not finite
    [[float("inf"), 1.0]],
    [["one", 1.0]],  # not numbers
    [1.0, 2.0],  # one vector, not a matrix
    [[1.0, 2.0], [3.0, 4.0]],  # two rows for one text
    [],
])
def test_what_is_not_a_finite_matrix_of_a_row_per_text_is_not_packed(embeddings: object) -> None:
    assert pack(embeddings, 1) is None


@pytest.mark.parametrize(("text", "rows", "problem"), [
    ("not base64!", 1, "is not base64"),
    ("AAAA", 2, "3 bytes, not whole float32 values"),
    (base64.b64encode(bytes(12)).decode(), 2, "3 float32 values, which do not split into 2"),
])
def test_unpackable_text_is_an_input_error_naming_the_field(text: str, rows: int,
                                                             problem: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        unpack(text, rows, "embeddings_base64")
    assert problem in raised.value.message and "embeddings_base64" in raised.value.message
    assert raised.value.detail == {"field": "embeddings_base64"}


def test_no_texts_leave_the_vectors_for_memos_to_refuse() -> None:
    assert unpack("", 0, "f").shape == (0, 0)
    assert unpack(base64.b64encode(bytes(8)).decode(), 0, "f").shape == (1, 2)


def test_one_vector_packs_from_either_shape_and_nothing_else_does() -> None:
    vector = np.arange(1, 5, dtype=np.float64)
    assert pack_one(vector) == pack_one(vector.reshape(1, 4)) == pack(vector.reshape(1, 4), 1)
    for other in (np.ones((2, 4)), [float("nan")] * 4, [], "text", np.ones((1, 1, 4))):
        assert pack_one(other) is None
