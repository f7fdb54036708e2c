"""Helpers shared by the benchmark scripts: synthetic corpora, vector caches, result files.

Benchmarks are scripts, not tests: each writes a JSON file under
``benchmarks/results/`` that records the exact command that produced it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

RESULTS = Path(__file__).parent / "results"
CACHE = Path(os.environ.get("MEMOSYS_BENCH_CACHE", "/tmp/memosys-bench"))

_NAMES = ["Alice", "Bob", "Carmen", "Deepak", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
          "Kemi", "Luca", "Maya", "Nikolai", "Olga", "Pedro", "Quinn", "Rosa", "Sami", "Tariq"]
_VERBS = ["visited", "cooked", "bought", "painted", "repaired", "booked", "read", "planted",
          "sold", "photographed", "cleaned", "borrowed", "designed", "ordered", "recommended"]
_OBJECTS = ["a blue ceramic vase", "the old bicycle", "a vegan lasagna", "two concert tickets",
            "a mystery novel", "the garden shed", "a sourdough loaf", "a vintage camera",
            "the kitchen sink", "a pair of hiking boots", "a sunflower mural", "the wedding cake",
            "a used piano", "three tomato plants", "a flight to Lisbon", "the quarterly report",
            "a yoga mat", "a chess set", "a puppy bed", "the team jerseys"]
_PLACES = ["downtown", "at the farmers market", "near the lake", "in Berlin", "at work",
           "with her sister", "for the school fair", "after the marathon", "in the new flat",
           "at the community centre", "during the road trip", "before the exam"]
_TIMES = ["last Monday", "yesterday", "on Sunday morning", "in early May", "two weeks ago",
          "over the weekend", "last summer", "this evening", "in 2022", "on her birthday"]
_FEELINGS = ["It was great.", "Not sure it was worth it.", "Would do it again!", "Took ages.",
             "Everyone loved it.", "Still thinking about it.", "", "", ""]


def synthetic_texts(n: int, seed: int = 7) -> list[str]:
    """``n`` distinct short, realistic-looking memory texts (about 10-20 words), deterministic."""
    rng = random.Random(seed)
    found: dict[str, None] = {}
    while len(found) < n:
        parts = (
            rng.choice(_NAMES), rng.choice(_VERBS), rng.choice(_OBJECTS),
            rng.choice(_PLACES), rng.choice(_TIMES) + ".", rng.choice(_FEELINGS),
        )
        found[" ".join(p for p in parts if p)] = None
    return list(found)


def _bundled_embedder() -> Any:
    from memosys.models.embedders.factory import build_embedder
    from memosys.settings import MiniLMOnnxConfig

    return build_embedder(MiniLMOnnxConfig())


def embedder_tag() -> str:
    """A short hash of the bundled embedder's fingerprint: caches of its vectors carry it,
    so that a new model or precision never meets vectors of the old one."""
    return hashlib.sha256(_bundled_embedder().fingerprint.encode()).hexdigest()[:8]


def store_dir(n: int, vectors_kind: str) -> Path:
    """Where the benchmark store of ``n`` memories is kept between runs."""
    kind = f"real-{embedder_tag()}" if vectors_kind == "real" else vectors_kind
    return CACHE / f"store-{n}-{kind}"


def real_vectors(
    texts: list[str], tag: str, purpose: str = "document"
) -> npt.NDArray[np.float32]:
    """Vectors of ``texts`` from the bundled embedder (as documents, or as queries), cached
    in ``CACHE``."""
    path = CACHE / f"{tag}-{embedder_tag()}.npy"
    if path.exists():
        cached = np.load(path)
        if cached.shape[0] == len(texts):
            return np.asarray(cached, dtype=np.float32)
    embedder = _bundled_embedder()
    chunks = []
    for start in range(0, len(texts), 4096):
        chunks.append(embedder.embed(texts[start : start + 4096], purpose=purpose))
        print(f"embedded {start + len(chunks[-1])}/{len(texts)}", file=sys.stderr, flush=True)
    vectors = np.concatenate(chunks).astype(np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def clustered_vectors(
    n: int, dims: int = 384, clusters: int = 2000, noise: float = 0.35, seed: int = 11
) -> npt.NDArray[np.float32]:
    """Random unit vectors grouped around ``clusters`` centroids (a stand-in for embeddings)."""
    rng = np.random.default_rng(seed)
    centroids = rng.standard_normal((clusters, dims)).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    out = np.empty((n, dims), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        rows = centroids[rng.integers(0, clusters, stop - start)]
        rows = rows + noise * rng.standard_normal(rows.shape).astype(np.float32) / np.sqrt(dims)
        out[start:stop] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def code_version() -> str | None:
    """``git describe --always --dirty`` of the checkout (None outside a git checkout)."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=Path(__file__).parent,
            capture_output=True, text=True, timeout=10, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Save ``payload`` with the command line, the code's commit and the machine under
    ``results/<name>.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {
        "command": shlex.join([".venv/bin/python", *sys.argv]),
        "code": code_version(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1_5_15min": list(os.getloadavg()),
        },
        **payload,
    }
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(payload, indent=2))
    return path
