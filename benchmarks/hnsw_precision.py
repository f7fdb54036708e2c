"""HNSW in float32 or half precision, on the vectors of the search benchmark's stores.

The store's HNSW index (usearch, M=16, ``expansion_add`` 128) can hold its
vectors as f32 or f16; searches score the hits again on the float32 rows. For
each scalar type this builds the index over the real MiniLM vectors of
``search_latency.py``'s corpus (queries: its questions), or over its clustered
random vectors (queries: held-out vectors of the same clusters), and reports:
build time (two threads), the CPU time of an insert (20 vectors a call, one
thread, as the store's inserter does), and for each ``expansion_search``: the
CPU time of a search for 116 hits (what a retriever asking for 100 checks),
recall@10 after rescoring in float32, and recall@100 of the hits, both
against exact search; and the size of the saved index.

Usage::

    .venv/bin/python benchmarks/hnsw_precision.py --repeats 2
    .venv/bin/python benchmarks/hnsw_precision.py --vectors clustered --repeats 2
    .venv/bin/python benchmarks/hnsw_precision.py --vectors clustered --size 1000000 --repeats 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    _bundled_embedder,
    clustered_vectors,
    real_vectors,
    synthetic_texts,
    write_result,
)
from search_latency import queries

from memosys.stores.sqlite.ann import HNSW_CONNECTIVITY, HNSW_EXPANSION_ADD

HITS = 116  # a retriever's limit of 100 and its 16 spares
INSERTS = 2_000


def build(vectors: np.ndarray, scalar: str) -> tuple[Any, float]:
    import onnxruntime  # noqa: F401  (before usearch, as the store does)
    from usearch.index import Index

    start = time.perf_counter()
    index = Index(ndim=vectors.shape[1], metric="ip", dtype=scalar,
                  connectivity=HNSW_CONNECTIVITY, expansion_add=HNSW_EXPANSION_ADD)
    index.add(np.arange(len(vectors), dtype=np.uint64), vectors, threads=2)
    return index, time.perf_counter() - start


def insert_ms(index: Any, vectors: np.ndarray, rng: np.random.Generator) -> float:
    """CPU ms per vector to insert near-duplicates of stored vectors, 20 a call."""
    extra = vectors[rng.integers(0, len(vectors), INSERTS)]
    extra = extra + 0.02 * rng.standard_normal(extra.shape).astype(np.float32)
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    first = len(vectors) + 10_000_000
    start = time.thread_time()
    for i in range(0, INSERTS, 20):
        keys = np.arange(first + i, first + i + 20, dtype=np.uint64)
        index.add(keys, extra[i : i + 20], threads=1)
    spent = time.thread_time() - start
    index.remove(np.arange(first, first + INSERTS, dtype=np.uint64))
    return spent / INSERTS * 1000


def vectors_and_queries(kind: str, size: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``size`` vectors and ``count`` query vectors: ``real`` (MiniLM vectors of the search
    benchmark's corpus, its questions as queries) or ``clustered`` (held-out queries)."""
    if kind == "real":
        vectors = real_vectors(synthetic_texts(size), f"texts{size}")
        return vectors, _bundled_embedder().embed(queries(count, 77), "query")
    drawn = clustered_vectors(size + count)
    return drawn[:size], drawn[size:]


def searched(index: Any, vectors: np.ndarray, query_vectors: np.ndarray,
             truth: list[np.ndarray], expansion: int) -> dict[str, float]:
    index.expansion_search = expansion
    recall10 = recall100 = 0.0
    spent = 0.0
    for query, best in zip(query_vectors, truth, strict=True):
        start = time.thread_time()
        keys = np.asarray(index.search(query, HITS).keys, dtype=np.int64)
        spent += time.thread_time() - start
        rescored = keys[np.argsort(-(vectors[keys] @ query), kind="stable")]
        recall10 += len(set(rescored[:10].tolist()) & set(best[:10].tolist())) / 10
        recall100 += len(set(keys[:100].tolist()) & set(best.tolist())) / 100
    count = len(query_vectors)
    return {"expansion_search": expansion, "search_cpu_ms": round(spent / count * 1000, 3),
            "recall_at_10_rescored": round(recall10 / count, 4),
            "recall_at_100": round(recall100 / count, 4)}


def saved_mb(index: Any) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index.usearch"
        index.save(str(path))
        return round(path.stat().st_size / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--expansions", type=int, nargs="+", default=[256, 320])
    parser.add_argument("--vectors", choices=["real", "clustered"], default="real")
    parser.add_argument("--scalars", nargs="+", choices=["f32", "f16"], default=["f32", "f16"])
    parser.add_argument("--out", help="result name (default: from --vectors and --size)")
    args = parser.parse_args()
    vectors, query_vectors = vectors_and_queries(args.vectors, args.size, args.queries)
    truth = [np.argsort(-(vectors @ query))[:100] for query in query_vectors]
    rng = np.random.default_rng(5)
    runs = []
    for _ in range(args.repeats):
        for scalar in args.scalars:
            index, build_s = build(vectors, scalar)
            runs.append({
                "scalar": scalar, "build_s": round(build_s, 1),
                "insert_cpu_ms_per_vector": round(insert_ms(index, vectors, rng), 3),
                "saved_mb": saved_mb(index),
                "searches": [searched(index, vectors, query_vectors, truth, expansion)
                             for expansion in args.expansions],
            })
            print(runs[-1], flush=True)
    name = "hnsw_precision" if args.vectors == "real" else "hnsw_precision_clustered"
    if args.size != 100_000:
        name += f"_{args.size}"
    write_result(args.out or name, {
        "vectors": args.size, "kind": args.vectors, "queries": args.queries, "hits": HITS,
        "connectivity": HNSW_CONNECTIVITY, "expansion_add": HNSW_EXPANSION_ADD, "runs": runs,
    })


if __name__ == "__main__":
    main()
