"""Fuse a BERT export's attention and GELU subgraphs into onnxruntime's own operators.

The bundled MiniLM was exported op by op: each layer's attention is some
twenty small nodes (reshapes, transposes, a mask built from the input, a
softmax guarded against NaN) and each GELU five. onnxruntime's own fusions do
not recognise this export, and on short texts the small nodes cost as much as
the matrix products around them. :func:`fuse` replaces each attention with one
``com.microsoft.MultiHeadAttention`` fed by the same query, key and value
projections, and each GELU with one ``com.microsoft.Gelu``, so the int8
quantiser sees the same matrix products as before. A fused graph is kept only
if it computes what the original does (:func:`fuse_file`); any other export
is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# names the fusions; a change to them must get a new name, so that cached copies
# made with the old ones are made again
FUSIONS = "mha-gelu-v1"
_CONTRIB = "com.microsoft"
_MASK_INPUT = "attention_mask"
_KEY_PADDING_MASK = "memosys_key_padding_mask"
# a fused graph may differ from the original by float32 rounding only
_TOLERANCE = 1e-4


@dataclass(frozen=True)
class _Fusion:
    """One subgraph to replace: the node that computes ``output`` becomes ``node``."""

    output: str
    node: Any  # onnx.NodeProto


class _Graph:
    """Who produces and who consumes each value of a graph."""

    def __init__(self, graph: Any) -> None:
        self.producer = {out: node for node in graph.node for out in node.output}
        self.consumers: dict[str, list[Any]] = {}
        for node in graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.constants = {init.name: init for init in graph.initializer}

    def made_by(self, name: str, op_type: str) -> Any | None:
        node = self.producer.get(name)
        return node if node is not None and node.op_type == op_type else None

    def sole_consumer(self, name: str, op_type: str) -> Any | None:
        found = self.consumers.get(name, [])
        return found[0] if len(found) == 1 and found[0].op_type == op_type else None

    def scalar(self, name: str) -> float | None:
        from onnx import numpy_helper

        init = self.constants.get(name)
        if init is None:
            return None
        value = numpy_helper.to_array(init)
        return float(value.reshape(-1)[0]) if value.size == 1 else None

    def projection(self, name: str) -> str | None:
        """The linear projection (``MatMul`` then bias ``Add``) that ``name`` reshapes,
        transposes or scales; None if it is something else."""
        for _ in range(8):
            node = self.producer.get(name)
            if node is None:
                return None
            if node.op_type == "Add" and any(self.made_by(x, "MatMul") for x in node.input):
                return str(node.output[0])
            if node.op_type not in ("Reshape", "Transpose", "Mul"):
                return None
            name = node.input[0]
        return None


def _attention(graph: _Graph, softmax: Any, num_heads: int, mask: str) -> _Fusion | None:
    """The attention around ``softmax``: scores = q.k, softmax (NaN-guarded), then
    probabilities.v, its heads transposed and reshaped back into one row per token."""
    from onnx import helper

    masked = graph.made_by(softmax.input[0], "Add")
    scores = graph.made_by(masked.input[0], "MatMul") if masked is not None else None
    if scores is None:
        return None
    guards = [n for n in graph.consumers.get(softmax.output[0], []) if n.op_type == "Where"]
    probabilities = guards[0].output[0] if len(guards) == 1 else softmax.output[0]
    weighted = [n for n in graph.consumers.get(probabilities, []) if n.op_type == "MatMul"]
    if len(weighted) != 1:
        return None
    heads_first = graph.sole_consumer(weighted[0].output[0], "Transpose")
    merged = graph.sole_consumer(heads_first.output[0], "Reshape") if heads_first else None
    query, key = graph.projection(scores.input[0]), graph.projection(scores.input[1])
    value = graph.projection(weighted[0].input[1])
    if merged is None or query is None or key is None or value is None:
        return None
    node = helper.make_node(
        "MultiHeadAttention", [query, key, value, "", mask], [merged.output[0]],
        name=f"memosys_attention_{merged.name}", domain=_CONTRIB, num_heads=num_heads,
    )
    return _Fusion(merged.output[0], node)


def _gelu(graph: _Graph, erf: Any) -> _Fusion | None:
    """x * 0.5 * (1 + erf(x / sqrt 2)), in any order of its two products."""
    from onnx import helper

    divide = graph.made_by(erf.input[0], "Div")
    plus_one = graph.sole_consumer(erf.output[0], "Add")
    if divide is None or plus_one is None or not _near(graph.scalar(divide.input[1]), 2**0.5):
        return None
    if not _near(graph.scalar(_other(plus_one, erf.output[0])), 1.0):
        return None
    x, factors = divide.input[0], set()
    value = plus_one.output[0]
    for _ in range(2):
        product = graph.sole_consumer(value, "Mul")
        if product is None:
            return None
        factor = _other(product, value)
        factors.add("x" if factor == x else "half" if _near(graph.scalar(factor), 0.5) else "")
        value = product.output[0]
    if factors != {"x", "half"}:
        return None
    node = helper.make_node("Gelu", [x], [value], name=f"memosys_gelu_{erf.name}", domain=_CONTRIB)
    return _Fusion(value, node)


def _other(node: Any, name: str) -> str:
    """The input of a two-input ``node`` that is not ``name``."""
    first, second = node.input
    return str(second if first == name else first)


def _near(value: float | None, expected: float) -> bool:
    return value is not None and abs(value - expected) < 1e-4


def fuse(model: Any, num_heads: int) -> Any | None:
    """A copy of ``model`` (an ``onnx.ModelProto``) with its attention and GELU
    subgraphs fused; None where it has none that this module recognises, or where the
    fused nodes cannot be put in an order that runs."""
    import onnx
    from onnx import TensorProto, helper

    graph = _Graph(model.graph)
    inputs = {value.name for value in model.graph.input}
    mask = _KEY_PADDING_MASK if _MASK_INPUT in inputs else ""
    fusions = [
        fused
        for node in model.graph.node
        for fused in [
            _attention(graph, node, num_heads, mask) if node.op_type == "Softmax"
            else _gelu(graph, node) if node.op_type == "Erf"
            else None
        ]
        if fused is not None
    ]
    if not fusions:
        return None
    replaced = {f.output for f in fusions}
    nodes = [n for n in model.graph.node if n.output[0] not in replaced]
    nodes += [f.node for f in fusions]
    if mask:
        cast = helper.make_node("Cast", [_MASK_INPUT], [mask], "memosys_mask")
        cast.attribute.append(helper.make_attribute("to", TensorProto.INT32))
        nodes.append(cast)
    fused = onnx.ModelProto()
    fused.CopyFrom(model)
    if not _set_nodes(fused.graph, nodes, known=inputs):
        return None
    if all(opset.domain != _CONTRIB for opset in fused.opset_import):
        fused.opset_import.append(helper.make_opsetid(_CONTRIB, 1))
    return fused


def _set_nodes(graph: Any, nodes: list[Any], known: set[str]) -> bool:
    """Give ``graph`` those of ``nodes`` its outputs need, in an order that runs, and
    only the initializers they read; False (``graph`` unchanged) where no order runs."""
    producer = {out: node for node in nodes for out in node.output}
    needed: dict[int, Any] = {}
    stack = [value.name for value in graph.output]
    while stack:
        node = producer.get(stack.pop())
        if node is not None and id(node) not in needed:
            needed[id(node)] = node
            stack.extend(name for name in node.input if name)
    ready = known | {init.name for init in graph.initializer} | {""}
    ordered = _topological([n for n in nodes if id(n) in needed], ready)
    if ordered is None:
        return False
    used = {name for node in ordered for name in node.input}
    initializers = [init for init in graph.initializer if init.name in used]
    del graph.node[:]
    graph.node.extend(ordered)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    return True


def _topological(nodes: list[Any], ready: set[str]) -> list[Any] | None:
    """``nodes`` ordered so that each comes after the nodes whose outputs it reads; None
    if some node reads a value that none of them makes (or they form a cycle)."""
    ordered: list[Any] = []
    waiting = nodes
    while waiting:
        runnable = [n for n in waiting if all(name in ready for name in n.input)]
        if not runnable:
            return None
        for node in runnable:
            ready.update(node.output)
        ordered += runnable
        placed = {id(node) for node in runnable}
        waiting = [n for n in waiting if id(n) not in placed]
    return ordered


def fuse_file(path: Path, num_heads: int) -> bool:
    """Fuse the graph in ``path`` in place if :func:`fuse` finds something to fuse and
    the fused graph computes what the original does; whether it did."""
    import onnx

    original = onnx.load(str(path))
    fused = fuse(original, num_heads)
    if fused is None:
        return False
    from onnxruntime.capi.onnxruntime_pybind11_state import (
        Fail,
        InvalidArgument,
        InvalidGraph,
        NotImplemented,
        RuntimeException,
    )

    fused_bytes = fused.SerializeToString()
    try:
        same = _same_hidden_states(str(path), fused_bytes)  # the original as on disk
    except (Fail, InvalidArgument, InvalidGraph, NotImplemented, RuntimeException):
        return False  # an export whose inputs or operators the fused graph does not fit
    if not same:
        return False
    path.write_bytes(fused_bytes)
    return True


def _same_hidden_states(original: str | bytes, fused: str | bytes) -> bool:
    """Whether two graphs (each a file's path or its bytes) give the same first output,
    on real tokens, for a short padded batch."""
    token_ids = np.array(
        [[101, 7592, 2088, 2003, 1037, 3231, 102], [101, 2129, 2024, 102, 0, 0, 0]]
    )
    mask = (token_ids > 0).astype(np.int64)
    feed = {"input_ids": token_ids, _MASK_INPUT: mask, "token_type_ids": np.zeros_like(token_ids)}
    expected, actual = _run(original, feed), _run(fused, feed)
    if expected.shape != actual.shape:
        return False
    real = mask.astype(bool)  # padded positions are pooled out
    return bool(np.abs(expected[real] - actual[real]).max() <= _TOLERANCE)


def _run(model: str | bytes, feed: dict[str, Any]) -> Any:
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = {value.name for value in session.get_inputs()}
    return session.run(None, {k: v for k, v in feed.items() if k in names})[0]
