"""Saving an HNSW index that lost vectors: zeroing their freed slots against building anew.

usearch keeps a removed vector's bytes in its freed slot and saves them, so a
store must not save such an index as it is (:mod:`memosys.stores.sqlite.
freed_slots`). This builds the store's index over the vectors of
``hnsw_precision.py`` (real MiniLM vectors of the search benchmark's corpus,
its questions as queries), removes a share of them at random, and compares
what the store does now (save, then zero the removed vectors in the file)
with what it did before (build the index anew without them): the time and
CPU each takes, and recall@10 (rescored in float32) and recall@100 against
exact search over the vectors left, of the saved file loaded back, of the
index in memory (removed bytes kept) and of the fresh build.

Usage::

    .venv/bin/python benchmarks/hnsw_removals.py
    .venv/bin/python benchmarks/hnsw_removals.py --shares 0.01 --size 20000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from _common import write_result
from hnsw_precision import searched, vectors_and_queries

from memosys.stores.sqlite.ann import HNSW_EXPANSION_SEARCH, build_hnsw, remove_keys
from memosys.stores.sqlite.ann_files import AnnFiles
from memosys.stores.sqlite.freed_slots import without_live_twins


def timed(job: Callable[[], Any]) -> tuple[Any, float, float]:
    """``job()``'s result, wall seconds and CPU seconds (all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = job()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def save_zeroed(files: AnnFiles, index: Any, removed: np.ndarray, live_rowids: np.ndarray,
                live_vectors: np.ndarray) -> Any:
    """Save as the store does: the removed vectors without a live twin zeroed."""
    kept = without_live_twins(removed, index, live_rowids, live_vectors[:, :4])
    return files.save("c1", index, kept, seq=1, dim=live_vectors.shape[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--shares", type=float, nargs="+", default=[0.01, 0.05, 0.2],
                        help="shares of the vectors removed, one run each")
    parser.add_argument("--out", default="hnsw_removals")
    args = parser.parse_args()
    vectors, query_vectors = vectors_and_queries("real", args.size, args.queries)
    rowids = np.arange(len(vectors), dtype=np.int64)
    dim = vectors.shape[1]
    built, build_s, build_cpu_s = timed(partial(build_hnsw, dim, rowids, vectors))
    print(f"built in {build_s:.1f} s", flush=True)
    rng = np.random.default_rng(5)
    runs = []
    for share in args.shares:
        index = built.copy()
        index.expansion_add = built.expansion_add
        gone = rng.choice(len(vectors), int(len(vectors) * share), replace=False)
        alive = np.ones(len(vectors), dtype=bool)
        alive[gone] = False
        live = np.flatnonzero(alive)
        truth = [live[np.argsort(-(vectors[live] @ query))[:100]] for query in query_vectors]
        removed = remove_keys(index, gone)
        with tempfile.TemporaryDirectory() as folder:
            files = AnnFiles(Path(folder))
            _, plain_s, plain_cpu_s = timed(partial(files.save, "plain", index, seq=1, dim=dim))
            held, zeroed_s, zeroed_cpu_s = timed(
                partial(save_zeroed, files, index, removed, rowids[live], vectors[live])
            )
            saved = files.saved("c1", dim)
            assert saved is not None and held is not None and held.all()
            assert not any(v.astype(np.float16).tobytes() in saved.path.read_bytes()
                           for v in vectors[gone[:50]])
            loaded = files.load(saved, dim)
        fresh, rebuild_s, rebuild_cpu_s = timed(
            partial(build_hnsw, dim, rowids, vectors, None, alive)
        )
        runs.append({
            "removed_share": share, "removed": len(gone),
            "save_s": round(plain_s, 3), "save_cpu_s": round(plain_cpu_s, 3),
            "save_and_zero_s": round(zeroed_s, 3), "save_and_zero_cpu_s": round(zeroed_cpu_s, 3),
            "rebuild_s": round(rebuild_s, 1), "rebuild_cpu_s": round(rebuild_cpu_s, 1),
            "recall": {
                "saved_zeroed_loaded": searched(loaded, vectors, query_vectors, truth,
                                                HNSW_EXPANSION_SEARCH),
                "in_memory_bytes_kept": searched(index, vectors, query_vectors, truth,
                                                 HNSW_EXPANSION_SEARCH),
                "rebuilt": searched(fresh, vectors, query_vectors, truth,
                                    HNSW_EXPANSION_SEARCH),
            },
        })
        print(runs[-1], flush=True)
    write_result(args.out, {
        "vectors": args.size, "kind": "real", "queries": args.queries,
        "build_s": round(build_s, 1), "build_cpu_s": round(build_cpu_s, 1), "runs": runs,
    })


if __name__ == "__main__":
    main()
