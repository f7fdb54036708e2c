"""Int8 activations for the MiniLM ONNX model: a quantised copy, made once and cached.

The shipped model stores int8 weights, but onnxruntime folds them back to
float32 when it loads them and computes in float32. The copy made here runs
every weight matrix product in int8 (weights per output channel, activations
quantised per tensor on the fly), about 2.5 times as fast on a CPU with int8
dot products; ``benchmarks/minilm_int8.py`` measures that and what it costs
in retrieval quality. Before it is quantised, the graph's attention and GELU
subgraphs are fused (:mod:`memosys.models.embedders.onnx_fusions`). The copy is
deterministic, so it is made once per machine and model and kept in the cache
folder; the recipe's name, not the file's bytes, goes into the fingerprint.
How onnxruntime runs the copy (which kernels and fusions) is not in the
fingerprint: it moves vectors far less than the recipe does (leaving out the
SkipLayerNormalization fusion moved LoCoMo turns by a cosine of 0.9995 on
average, the attention and GELU fusions by 0.9998, against 0.993 between int8
and float32), so cubes embedded before such a change keep working; the
fusions' name goes into the copy's file name, so that a changed copy is made
again.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources.abc import Traversable
from pathlib import Path

from memosys.core.errors import ConfigurationError, MissingDependencyError
from memosys.models.embedders.onnx_fusions import FUSIONS, fuse_file

# names the quantisation; a different recipe must get a new name (it is part of
# the cube fingerprint, so cubes never mix vectors from two recipes)
RECIPE = "int8-dynamic-matmul-per-channel-v1"
NUM_HEADS = 12  # all-MiniLM-L6-v2's attention heads


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/memosys``, else ``~/.cache/memosys``; where that folder cannot
    be made or written (no home, a read-only one), one in the temporary folder."""
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "memosys"
        base.mkdir(parents=True, exist_ok=True)
        if os.access(base, os.W_OK):
            return base
    except (OSError, RuntimeError):  # RuntimeError: no home directory to be found
        pass
    return Path(tempfile.gettempdir()) / f"memosys-cache-{os.getuid()}"


def int8_copy(model: Traversable, model_sha256: str, cache_dir: Path) -> Path:
    """The int8 copy of ``model`` (whose sha256 is ``model_sha256``), made if missing."""
    target = cache_dir / "models" / f"minilm-{model_sha256[:16]}-{RECIPE}-{FUSIONS}.onnx"
    if target.is_file():
        return target
    _require_onnx()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
            folded, quantised = Path(scratch) / "float32.onnx", Path(scratch) / "int8.onnx"
            fold_weights(model, folded)
            fuse_file(folded, NUM_HEADS)
            _quantise(folded, quantised)
            os.replace(quantised, target)  # atomic: other processes see all of it or none
        _remove_older_copies(target, model_sha256)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the int8 embedding model under {str(cache_dir)!r}: {exc}; "
            "set the minilm-onnx cache_dir to a writable folder "
            "(MEMOSYS_EMBEDDER__CACHE_DIR), or its precision to float32",
            detail={"cache_dir": str(cache_dir)},
        ) from exc
    return target


def _remove_older_copies(target: Path, model_sha256: str) -> None:
    """Delete the copies of this model that earlier fusions made with this recipe (58 MB
    each): none is read again. An older memosys still in use makes its own anew."""
    for path in target.parent.glob(f"minilm-{model_sha256[:16]}-{RECIPE}*.onnx"):
        if path != target:
            path.unlink(missing_ok=True)


def fold_weights(model: Traversable, out: Path) -> None:
    """Write ``model`` as onnxruntime runs it: int8 weights folded into float32."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(out)
    source = str(model) if isinstance(model, Path) else model.read_bytes()
    ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])


def _require_onnx() -> None:
    """Fusing and quantising need the onnx package: a clear error naming it if missing."""
    try:
        import onnx  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "the int8 embedding model is made with the onnx package; install it with: "
            "pip install onnx (or set the minilm-onnx precision to float32)",
            detail={"package": "onnx"},
        ) from exc


def _quantise(folded: Path, out: Path) -> None:
    """Quantise every MatMul of ``folded`` dynamically; the embedding table stays float."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root_logger():
        quantize_dynamic(
            folded,
            out,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """Hide the quantiser's advice, which it logs on the root logger as a warning."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
