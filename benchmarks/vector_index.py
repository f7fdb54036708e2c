"""Compare vector index libraries for the SQLite store's approximate path.

Candidates: numpy exact (einsum matrix-vector product + argpartition), usearch HNSW (f32 and
i8), hnswlib HNSW, and sqlite-vec (``vec0`` virtual table, brute force in C).
Data: random but clustered unit vectors (Gaussian blobs around random
centres), queries drawn from the same blobs but not in the index. For each
library and size: build time, single-query latency p50/p95, recall@10 against
exact search, and resident memory added by the index.

Usage::

    .venv/bin/python benchmarks/vector_index.py --sizes 100000 1000000 \
        --out benchmarks/results/vector_index.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import psutil

DIM = 384
K = 10
Searcher = Callable[[np.ndarray], np.ndarray]


def clustered(n: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``n`` unit vectors scattered around random centres."""
    out = np.empty((n, centres.shape[1]), dtype=np.float32)
    step = 100_000
    for start in range(0, n, step):
        m = min(step, n - start)
        labels = rng.integers(0, len(centres), m)
        noise = rng.standard_normal((m, centres.shape[1]), dtype=np.float32) * 0.06
        block = centres[labels] + noise
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + m] = block
    return out


def rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def timed_queries(search: Searcher, queries: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
    results, times = [], []
    for q in queries:
        t = time.perf_counter()
        results.append(search(q))
        times.append(time.perf_counter() - t)
    return results, times


def build_numpy(data: np.ndarray) -> tuple[Searcher, Any]:
    matrix = np.ascontiguousarray(data)

    def search(q: np.ndarray) -> np.ndarray:
        # einsum runs single-threaded SIMD; a threaded BLAS gemv is slower and jittery
        # on a 2-core machine (thread wake-ups).
        scores = np.einsum("ij,j->i", matrix, q)
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])]

    return search, None


def build_usearch(data: np.ndarray, dtype: str, expansion_add: int = 128) -> tuple[Searcher, Any]:
    from usearch.index import Index

    index = Index(ndim=data.shape[1], metric="ip", dtype=dtype, connectivity=16,
                  expansion_add=expansion_add, expansion_search=64)
    index.add(np.arange(len(data), dtype=np.uint64), data, threads=os.cpu_count() or 1)

    def search(q: np.ndarray) -> np.ndarray:
        return np.asarray(index.search(q, K).keys, dtype=np.int64)

    def set_ef(ef: int) -> None:
        index.expansion_search = ef

    return search, set_ef


def build_hnswlib(data: np.ndarray) -> tuple[Searcher, Any]:
    import hnswlib

    index = hnswlib.Index(space="ip", dim=data.shape[1])
    index.init_index(max_elements=len(data), ef_construction=128, M=16)
    index.add_items(data, np.arange(len(data)), num_threads=os.cpu_count() or 1)
    index.set_num_threads(1)

    def search(q: np.ndarray) -> np.ndarray:
        labels, _ = index.knn_query(q, k=K)
        return np.asarray(labels[0], dtype=np.int64)

    return search, index.set_ef


def build_sqlite_vec(data: np.ndarray) -> tuple[Searcher, Any]:
    import apsw  # the stdlib sqlite3 here is built without extension loading
    import sqlite_vec

    conn = apsw.Connection(":memory:")
    conn.enable_load_extension(True)
    conn.load_extension(sqlite_vec.loadable_path())
    conn.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{data.shape[1]}])")
    with conn:
        conn.executemany(
            "INSERT INTO v(rowid, embedding) VALUES (?, ?)",
            ((i, row.tobytes()) for i, row in enumerate(data)),
        )

    def search(q: np.ndarray) -> np.ndarray:
        rows = conn.execute(
            "SELECT rowid FROM v WHERE embedding MATCH ? AND k = ? ORDER BY distance",
            (q.astype(np.float32).tobytes(), K),
        )
        return np.array([r[0] for r in rows], dtype=np.int64)

    search.conn = conn  # type: ignore[attr-defined]  # keep the connection alive
    return search, None


def run_size(
    n: int, n_queries: int, rng: np.random.Generator, only: list[str] | None = None
) -> list[dict[str, Any]]:
    centres = rng.standard_normal((max(64, n // 500), DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    data = clustered(n, centres, rng)
    queries = clustered(n_queries, centres, rng)
    exact_search, _ = build_numpy(data)
    truth = [set(exact_search(q).tolist()) for q in queries]

    candidates: list[tuple[str, Callable[[], tuple[Searcher, Any]]]] = [
        ("numpy-exact", lambda: build_numpy(data.copy())),
        ("usearch-f32", lambda: build_usearch(data, "f32")),
        ("usearch-i8", lambda: build_usearch(data, "i8")),
        ("usearch-f32-add64", lambda: build_usearch(data, "f32", expansion_add=64)),
        ("hnswlib", lambda: build_hnswlib(data)),
        ("sqlite-vec", lambda: build_sqlite_vec(data)),
    ]
    rows = []
    for name, build in candidates:
        if only and name not in only:
            continue
        before = rss()
        t = time.perf_counter()
        search, set_ef = build()
        build_s = time.perf_counter() - t
        added = rss() - before
        qs = queries if name != "sqlite-vec" or n <= 100_000 else queries[:50]
        for ef in (64, 128) if set_ef else (None,):
            if set_ef:
                set_ef(ef)
            results, times = timed_queries(search, qs)
            hits = [len(truth[i] & set(r.tolist())) / K for i, r in enumerate(results)]
            row = {
                "library": name if ef is None else f"{name}-ef{ef}", "n": n,
                "build_s": round(build_s, 2),
                "query_p50_ms": round(float(np.percentile(times, 50)) * 1000, 3),
                "query_p95_ms": round(float(np.percentile(times, 95)) * 1000, 3),
                "recall_at_10": round(float(np.mean(hits)), 4),
                "rss_added_mb": round(added / 2**20, 1), "queries": len(qs),
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
        del search, set_ef
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", default="benchmarks/results/vector_index.json")
    parser.add_argument("--only", nargs="*", help="run only these libraries (names as reported)")
    args = parser.parse_args()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    rng = np.random.default_rng(7)
    rows = [row for n in args.sizes for row in run_size(n, args.queries, rng, args.only)]
    report = {
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    # the machine is shared with other work: high load inflates timings
                    "load_average_at_start": load_at_start,
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "dim": DIM, "k": K, "results": rows,
    }
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    main()
