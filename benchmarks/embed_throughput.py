"""Throughput of the bundled MiniLM int8 ONNX embedder on real conversation turns.

Texts: the ``text`` of every turn in the ``conversation.session_<n>`` lists of
LoCoMo's development split. For each token budget per batch
(``batch_tokens``), with and without length sorting, the texts are embedded
in one ``embed`` call for the whole corpus and in one call per session, the
way ``mos.add`` sees them (sentences per second). Configurations run
round-robin for ``--repeats`` rounds and keep their best rate, so that load
from other processes falls on all of them alike.

Usage::

    .venv/bin/python benchmarks/embed_throughput.py \
        --data /work/shared/data/locomo/locomo_dev.json --repeats 3
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import time
from importlib import resources
from pathlib import Path

import numpy as np
from _common import write_result
from tokenizers import Tokenizer

from memosys.models.embedders.minilm_onnx import MiniLMOnnxEmbedder
from memosys.settings import MiniLMOnnxConfig

LOCOMO = "/work/shared/data/locomo/locomo_dev.json"
_SESSION = re.compile(r"session_\d+")


def load_sessions(path: Path) -> list[list[str]]:
    """The turn texts of every session, one list per session."""
    samples = json.loads(path.read_text(encoding="utf-8"))
    return [
        [turn["text"] for turn in turns]
        for sample in samples
        for key, turns in sample["conversation"].items()
        if _SESSION.fullmatch(key) and isinstance(turns, list)
    ]


def rate(embedder: MiniLMOnnxEmbedder, calls: list[list[str]]) -> float:
    """Texts/second for one timed pass over ``calls`` (after a warm-up call)."""
    embedder.embed(calls[0][:64])  # load the session, warm the allocator
    start = time.perf_counter()
    for texts in calls:
        embedder.embed(texts)
    return sum(map(len, calls)) / (time.perf_counter() - start)


def token_stats(texts: list[str]) -> dict[str, float]:
    """Token-length distribution of the corpus (with [CLS]/[SEP], untruncated)."""
    asset = resources.files("memosys.models.embedders") / "assets" / "minilm-tokenizer.json"
    tokenizer = Tokenizer.from_str(asset.read_text(encoding="utf-8"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    lengths = np.array([len(e.ids) for e in tokenizer.encode_batch(texts)])
    return {
        "mean": round(float(lengths.mean()), 1),
        **{f"p{q}": float(np.percentile(lengths, q)) for q in (50, 90, 99)},
        "max": int(lengths.max()),
        "share_over_128": round(float((lengths > 128).mean()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(LOCOMO))
    parser.add_argument(
        "--batch-tokens", type=int, nargs="+", default=[64, 128, 256, 384, 512, 1024, 4096]
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="default: os.cpu_count()")
    parser.add_argument("--name", default="embed_throughput", help="results/<name>.json")
    args = parser.parse_args()

    sessions = load_sessions(args.data)
    texts = [text for session in sessions for text in session]
    grid = list(itertools.product(args.batch_tokens, (True, False)))
    best: dict[tuple[int, bool], dict[str, float]] = {
        key: {"whole_corpus": 0.0, "per_session": 0.0} for key in grid
    }
    load_at_start = os.getloadavg()
    for round_ in range(args.repeats):  # round-robin, so background load hits every config alike
        for key in grid:
            batch_tokens, sort = key
            config = MiniLMOnnxConfig(batch_tokens=batch_tokens, threads=args.threads)
            embedder = MiniLMOnnxEmbedder(config, sort_by_length=sort)
            for name, calls in (("whole_corpus", [texts]), ("per_session", sessions)):
                best[key][name] = max(best[key][name], rate(embedder, calls))
            print(f"round {round_ + 1}: {key} best {best[key]}", flush=True)
    runs = [
        {"batch_tokens": b, "sort_by_length": s,
         **{name: round(r, 1) for name, r in rates.items()}}
        for (b, s), rates in best.items()
    ]
    write_result(
        args.name,
        {
            "corpus": {"file": str(args.data), "sessions": len(sessions), "texts": len(texts),
                       "tokens": token_stats(texts)},
            "threads": args.threads or os.cpu_count(),
            "repeats": args.repeats,
            "load_average": {"start": load_at_start, "end": os.getloadavg()},
            "runs": runs,
            "best_per_session": max(runs, key=lambda run: run["per_session"]),
            "default_config": MiniLMOnnxConfig().model_dump(),
        },
    )


if __name__ == "__main__":
    main()
