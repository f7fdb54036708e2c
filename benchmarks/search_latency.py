"""Search latency on a large store: p50/p95 per query (query embedding included),
and the time to open an existing store and answer the first search in a fresh process.

    .venv/bin/python benchmarks/search_latency.py --n 100000 --vectors real
    .venv/bin/python benchmarks/search_latency.py --n 1000000 --vectors clustered

``real`` embeds the synthetic texts once with the bundled model (cached under
/tmp/memosys-bench); ``clustered`` supplies random unit vectors grouped around
centroids, for sizes too large to embed. The store is built once with
``add_texts(embeddings=...)`` and reused by later runs. Hybrid and dense
searches are timed once more with each query's vector given (``query_vector``,
embedded before the timing), as an app that embeds its own queries sends them.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import onnxruntime  # noqa: F401  (before usearch: see _COLD)
from _common import clustered_vectors, real_vectors, store_dir, synthetic_texts, write_result

from memosys import MemOS
from memosys.eval.metrics import percentile

USER, CUBE = "bench", "bench"
BATCH = 10_000
BUILD_RECORD = "bench_build.json"  # how the store was built, kept beside it for later runs

_QUESTION = ["What did {n} {v}?", "Where did {n} go {t}?", "Who {v} {o}?",
             "When did {n} {v} {o}?", "Tell me about {n} and {o} {p}",
             "Did {n} {v} {o} {p}?", "{n} {o} {t}", "what happened with {o} {p}"]
_NAMES = ["Alice", "Bob", "Carmen", "Deepak", "Elena", "Farid", "Grace", "Hiro", "Ines",
          "Jonas", "Kemi", "Luca", "Maya", "Nikolai", "Olga", "Pedro", "Quinn", "Rosa"]
_VERBS = ["buy", "paint", "repair", "book", "sell", "clean", "borrow", "design", "order"]
_OBJECTS = ["the blue vase", "a bicycle", "the lasagna", "concert tickets", "the novel",
            "the garden shed", "a sourdough loaf", "the camera", "hiking boots", "the mural",
            "the piano", "tomato plants", "the flight", "the report", "a chess set"]
_PLACES = ["downtown", "at the market", "near the lake", "in Berlin", "at work", "at school"]
_TIMES = ["last Monday", "yesterday", "last summer", "in early May", "two weeks ago"]


def queries(count: int, seed: int) -> list[str]:
    """``count`` distinct question-like queries over the corpus' vocabulary.

    The embedder remembers recent query vectors, so the queries are distinct and
    every run draws a new ``seed`` (recorded in the result): each search really
    embeds its query.
    """
    rng = random.Random(seed)
    found: dict[str, None] = {}
    while len(found) < count:
        found[rng.choice(_QUESTION).format(
            n=rng.choice(_NAMES), v=rng.choice(_VERBS), o=rng.choice(_OBJECTS),
            p=rng.choice(_PLACES), t=rng.choice(_TIMES),
        )] = None
    return list(found)


def build(directory: Path, n: int, vectors_kind: str) -> dict[str, Any]:
    """Fill ``directory`` with ``n`` memories unless it already holds them."""
    with MemOS.open(directory) as mos:
        if any(c.name == CUBE for c in mos.list_cubes(user_id=USER)):
            have = mos.count(user_id=USER, cube=CUBE)
            if have == n:
                record = directory / BUILD_RECORD
                first = json.loads(record.read_text()) if record.exists() else None
                return {"built": False, "count": have, "first_build": first}
            raise SystemExit(f"{directory} holds {have} memories, not {n}; delete it and rerun")
    texts = synthetic_texts(n)
    vectors = real_vectors(texts, f"texts{n}") if vectors_kind == "real" else clustered_vectors(n)
    start = time.perf_counter()
    with MemOS.open(directory) as mos:
        mos.create_cube(CUBE, owner=USER)
        for i in range(0, n, BATCH):
            mos.add_texts(texts[i : i + BATCH], user_id=USER, cube=CUBE,
                          embeddings=vectors[i : i + BATCH])
            if (i // BATCH) % 10 == 0:
                print(f"added {i + BATCH}/{n}", file=sys.stderr, flush=True)
        count = mos.count(user_id=USER, cube=CUBE)
    seconds = time.perf_counter() - start
    result = {"built": True, "count": count, "seconds": seconds, "items_per_s": n / seconds}
    (directory / BUILD_RECORD).write_text(json.dumps(result))
    return result


def vector_index(directory: Path) -> dict[str, Any]:
    """Build (or load) the cube's HNSW index now and wait for it, so that the
    timed searches go through it; a built index is saved beside the database."""
    start = time.perf_counter()
    with MemOS.open(directory) as mos:
        cube_id = mos.cube(CUBE, user_id=USER).id
        approximate = mos.store.wait_for_vector_index(cube_id)  # type: ignore[attr-defined]
    return {"approximate": approximate, "ready_s": time.perf_counter() - start}


# Importing usearch before onnxruntime crashes the interpreter (usearch 2.26.6,
# onnxruntime 1.32.0: `python -c "import usearch.index; import onnxruntime"`
# segfaults), and a large cube loads its HNSW index in a background thread
# before the first query is embedded; so onnxruntime is imported first.
_COLD = """
import json, time
t0 = time.perf_counter()
import onnxruntime
from memosys import MemOS
t1 = time.perf_counter()
mos = MemOS.open({path!r})
t2 = time.perf_counter()
mos.search({query!r}, user_id={user!r}, cube={cube!r}, top_k=10)
t3 = time.perf_counter()
mos.search({query2!r}, user_id={user!r}, cube={cube!r}, top_k=10)
t4 = time.perf_counter()
print(json.dumps({{"import_onnxruntime_and_MemOS_s": t1 - t0, "open_s": t2 - t1,
                  "first_search_s": t3 - t2, "second_search_s": t4 - t3,
                  "open_plus_first_search_s": t3 - t1}}))
"""


def cold_start(directory: Path, seed: int) -> dict[str, float]:
    """Open the store and search once (a query new to the cache) in a fresh interpreter."""
    first, second = queries(2, seed)
    code = _COLD.format(path=str(directory), query=first, query2=second, user=USER, cube=CUBE)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def latency(
    directory: Path, count: int, mode: str, seed: int, warmup_s: float,
    given_vectors: bool = False,
) -> dict[str, float]:
    """p50/p95 of ``mos.search`` (top 10) over ``count`` fresh queries after a warm-up.

    The warm-up searches for ``warmup_s`` seconds (at least 5 queries), long
    enough for a large cube to load its saved HNSW index in the background.
    Also the p50 of embedding alone, on other fresh queries. ``given_vectors``:
    the timed searches get their query's vector (``query_vector``), embedded
    before the timing by another embedder instance, so that none is cached.
    """
    qs = queries(count + 55, seed)
    vectors: list[Any] = [None] * count
    if given_vectors:
        with MemOS.open(directory) as other:
            vectors = list(other.embedder.embed(qs[:count], purpose="query"))
    with MemOS.open(directory) as mos:
        start, done = time.perf_counter(), 0
        while done < 5 or time.perf_counter() - start < warmup_s:
            q = qs[count + done % 5]
            mos.search(q, user_id=USER, cube=CUBE, top_k=10, mode=mode)  # type: ignore[arg-type]
            done += 1
        samples = []
        for q, vector in zip(qs[:count], vectors, strict=True):
            start = time.perf_counter()
            mos.search(q, user_id=USER, cube=CUBE, top_k=10, mode=mode,  # type: ignore[arg-type]
                       query_vector=vector)
            samples.append((time.perf_counter() - start) * 1000)
        embed = []
        for q in qs[count + 5 :]:
            start = time.perf_counter()
            mos.embedder.embed([q], purpose="query")
            embed.append((time.perf_counter() - start) * 1000)
    return {"queries": count, "p50_ms": percentile(samples, 50),
            "p95_ms": percentile(samples, 95), "max_ms": max(samples),
            "query_embedding_p50_ms": percentile(embed, 50)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--vectors", choices=["real", "clustered"], default="real")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--warmup-s", type=float, default=3.0,
                        help="seconds of warm-up searches before timing (index loading)")
    args = parser.parse_args()
    directory = args.data_dir or store_dir(args.n, args.vectors)
    built = build(directory, args.n, args.vectors)
    index = vector_index(directory)
    seed = time.time_ns() % 2**31
    payload = {
        "memories": args.n,
        "vectors": args.vectors,
        "data_dir": str(directory),
        "query_seed": seed,
        "warmup_s": args.warmup_s,
        "build": built,
        "vector_index": index,
        "cold_start": cold_start(directory, seed + 1),
        "search": {
            mode: latency(directory, args.queries, mode, seed + 2 + i, args.warmup_s)
            for i, mode in enumerate(("hybrid", "bm25", "dense"))
        },
        "search_with_query_vector_given": {
            mode: latency(directory, args.queries, mode, seed + 5 + i, args.warmup_s,
                          given_vectors=True)
            for i, mode in enumerate(("hybrid", "dense"))
        },
    }
    write_result(f"search_latency_{args.n}", payload)


if __name__ == "__main__":
    main()
