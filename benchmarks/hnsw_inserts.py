"""``expansion_add`` of the inserts into a built HNSW index: their cost, and recall after.

A store builds a cube's HNSW index once, and then inserts every new vector
into it (:mod:`memosys.stores.sqlite.vector_index`). This builds the index in
half precision at the store's build expansion over the first part of the
vectors of ``hnsw_precision.py`` (real MiniLM vectors of the search
benchmark's corpus with its questions as queries, or clustered random
vectors), inserts the rest 8 at a time on one thread (as the store's
inserter does) at each ``--insert-expansions`` value, and reports the CPU
time per insert and, at the store's ``expansion_search``, recall@10 after
rescoring in float32 and recall@100 of the hits, both against exact search
over all the vectors. ``--inserted 1.0`` grows the whole index by inserts.

Usage::

    .venv/bin/python benchmarks/hnsw_inserts.py
    .venv/bin/python benchmarks/hnsw_inserts.py --vectors clustered
    .venv/bin/python benchmarks/hnsw_inserts.py --inserted 1.0 --insert-expansions 128 64
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import write_result
from hnsw_precision import build, searched, vectors_and_queries

from memosys.stores.sqlite.ann import (
    HNSW_EXPANSION_ADD,
    HNSW_EXPANSION_INSERT,
    HNSW_EXPANSION_SEARCH,
    HNSW_SCALAR,
)

CHUNK = 8  # vectors a call, as the store's inserter takes them


def inserted(index: object, vectors: np.ndarray, first: int, expansion: int) -> float:
    """Insert ``vectors[first:]`` at ``expansion``; CPU ms per vector."""
    index.expansion_add = expansion  # type: ignore[attr-defined]
    start = time.thread_time()
    for at in range(first, len(vectors), CHUNK):
        keys = np.arange(at, min(at + CHUNK, len(vectors)), dtype=np.uint64)
        index.add(keys, vectors[at : at + CHUNK], threads=1)  # type: ignore[attr-defined]
    return (time.thread_time() - start) / max(1, len(vectors) - first) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--vectors", choices=["real", "clustered"], default="real")
    parser.add_argument("--inserted", type=float, default=0.2,
                        help="share of the vectors inserted after the build")
    parser.add_argument("--insert-expansions", type=int, nargs="+",
                        default=[HNSW_EXPANSION_ADD, 64, 48, 32])
    parser.add_argument("--out", help="result name (default: from --vectors and --inserted)")
    args = parser.parse_args()
    vectors, query_vectors = vectors_and_queries(args.vectors, args.size, args.queries)
    rng = np.random.default_rng(3)
    vectors = vectors[rng.permutation(len(vectors))]  # inserts of every kind of text
    truth = [np.argsort(-(vectors @ query))[:100] for query in query_vectors]
    first = max(1, int(len(vectors) * (1 - args.inserted)))  # an index of one at least
    runs = []
    for expansion in args.insert_expansions:
        index, build_s = build(vectors[:first], HNSW_SCALAR)
        runs.append({
            "insert_expansion": expansion, "build_s": round(build_s, 1),
            "insert_cpu_ms_per_vector": round(inserted(index, vectors, first, expansion), 3),
            **searched(index, vectors, query_vectors, truth, HNSW_EXPANSION_SEARCH),
        })
        print(runs[-1], flush=True)
    name = args.out or f"hnsw_inserts_{args.vectors}_{round(args.inserted * 100)}pct"
    write_result(name, {
        "vectors": args.size, "kind": args.vectors, "queries": args.queries,
        "inserted": len(vectors) - first, "build_expansion_add": HNSW_EXPANSION_ADD,
        "store_insert_expansion": HNSW_EXPANSION_INSERT, "runs": runs,
    })


if __name__ == "__main__":
    main()
