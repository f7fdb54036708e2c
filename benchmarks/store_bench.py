"""SQLite store benchmark: ingest throughput, search latency, cold open.

Builds a database of synthetic memories (Zipf-distributed words: common
English words at the head, pseudo-words in the tail; 12-40 words each,
sessions of 20 messages) with clustered 384-d unit vectors, then
measures:

* ``add_items`` throughput with vectors supplied (batches of ``--batch``);
* ``text_search`` and ``vector_search`` latency (limit 100, as retrieval asks),
  each and together, p50/p95 over ``--queries`` queries;
* opening the existing database in a fresh process and running the first
  text + vector search;
* optionally a second, larger size where vector search takes the ANN path.

Usage::

    .venv/bin/python benchmarks/store_bench.py --sizes 100000 1000000 \
        --out benchmarks/results/store_bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from vector_index import clustered

from memosys.core.clock import SystemClock
from memosys.core.cube import MemCube
from memosys.core.filters import parse_filter
from memosys.core.items import MemoryItem, MemoryKind, SourceType, content_hash
from memosys.settings import StoreSettings
from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore, fts, search

DIM = 384
LIMIT = 100
FINGERPRINT = "bench/clustered-384"
ZIPF_EXPONENT = 1.07  # word frequencies in English follow Zipf's law with s close to 1
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "an", "el", "or", "ve", "di", "su"]


# The most frequent English words, roughly by rank: mostly stopwords (which
# search drops) and some common content words (which it keeps), as in real text.
_HEAD_TEXT = """the of and to a in is you that it he was for on are as with his they i at be this
have from or one had by word but not what all were we when your can said there use an each
which she do how their if will up other about out many then them these so some her would
make like him into time has look two more write go see number no way could people my than
first water been call who oil its now find long down day did get come made may part over
new sound take only little work know place year live me back give most very after thing our
just name good sentence man think say great where help through much before line right too
mean old any same tell boy follow came want show also around form three small set put end
does another well large must big even such because turn here why ask went men read need
land different home us move try kind hand picture again change off play spell air away
animal house point page letter mother answer found study still learn should america world"""
HEAD = _HEAD_TEXT.split()


def vocabulary(rng: np.random.Generator, size: int = 30_000) -> list[str]:
    """English head words, then pseudo-words for the long tail of rarer terms."""
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 5)))))
    tail = sorted(words - set(HEAD))
    rng.shuffle(tail)
    return HEAD + tail


def sentences(rng: np.random.Generator, vocab: list[str], n: int, lo: int, hi: int) -> list[str]:
    draws = rng.zipf(ZIPF_EXPONENT, size=n * hi * 2)
    ranks = draws[draws <= len(vocab)] - 1  # ranks past the vocabulary are dropped
    while len(ranks) < n * hi:
        more = rng.zipf(ZIPF_EXPONENT, size=n * hi)
        ranks = np.concatenate([ranks, more[more <= len(vocab)] - 1])
    out, cursor = [], 0
    for length in rng.integers(lo, hi + 1, size=n):
        out.append(" ".join(vocab[r] for r in ranks[cursor : cursor + length]))
        cursor += length
    return out


def make_items(texts: list[str], start: int, now: datetime) -> list[MemoryItem]:
    return [
        MemoryItem(
            id=f"item-{start + k:08d}", cube_id="bench", user_id="u1", owner="u1",
            kind=MemoryKind.MESSAGE, source_type=SourceType.CONVERSATION, content=text,
            content_hash=content_hash(text, str(start + k)), created_at=now, updated_at=now,
            event_time=now, session_id=f"s{(start + k) // 20}", position=(start + k) % 20,
            speaker="alice" if k % 2 else "bob", metadata={"n": start + k},
        )
        for k, text in enumerate(texts)
    ]


def percentiles(times: list[float], cpu: list[float] | None = None) -> dict[str, float]:
    """Wall-clock p50/p95, and the calling thread's CPU time (unaffected by other
    processes on a shared machine) when given."""
    out = {
        "p50_ms": round(float(np.percentile(times, 50)) * 1000, 3),
        "p95_ms": round(float(np.percentile(times, 95)) * 1000, 3),
    }
    if cpu is not None:
        out["cpu_p50_ms"] = round(float(np.percentile(cpu, 50)) * 1000, 3)
        out["cpu_p95_ms"] = round(float(np.percentile(cpu, 95)) * 1000, 3)
    return out


def build(path: Path, n: int, batch: int, rng: np.random.Generator) -> dict[str, Any]:
    vocab = vocabulary(np.random.default_rng(1))
    centres = rng.standard_normal((max(64, n // 500), DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    store = SQLiteStore(path, StoreSettings(), SystemClock())
    now = datetime.now(UTC)
    store.put_cube(MemCube(id="bench", name="bench", owner="u1", created_at=now, updated_at=now))
    spent = 0.0
    for start in range(0, n, batch):
        m = min(batch, n - start)
        items = make_items(sentences(rng, vocab, m, 12, 40), start, now)
        vectors = clustered(m, centres, rng)
        t = time.perf_counter()
        store.add_items(items, vectors, FINGERPRINT)
        spent += time.perf_counter() - t
    store.close()
    np.save(path.with_suffix(".centres.npy"), centres)
    return {"items": n, "batch": batch, "seconds": round(spent, 2),
            "items_per_s": round(n / spent), "db_bytes": path.stat().st_size}


def search_latency(path: Path, n_queries: int, rng: np.random.Generator) -> dict[str, Any]:
    vocab = vocabulary(np.random.default_rng(1))
    centres = np.load(path.with_suffix(".centres.npy"))
    store = SQLiteStore(path, StoreSettings(), SystemClock())
    scope = Scope("u1", ("bench",))
    queries = ["what did they say about " + q for q in sentences(rng, vocab, n_queries, 3, 6)]
    vectors = clustered(n_queries, centres, rng)
    out: dict[str, Any] = {}
    t = time.perf_counter()
    store.vector_search(scope, vectors[0], None, 10)
    out["first_vector_search_s"] = round(time.perf_counter() - t, 3)  # includes loading
    t = time.perf_counter()
    if store.wait_for_vector_index("bench"):
        out["hnsw_build_or_load_s"] = round(time.perf_counter() - t, 2)
    wall: dict[str, list[float]] = {"text": [], "vector": [], "both": []}
    cpu: dict[str, list[float]] = {"text": [], "vector": [], "both": []}
    for q, v in zip(queries, vectors, strict=True):
        w0, c0 = time.perf_counter(), time.thread_time()
        store.text_search(scope, q, None, LIMIT)
        w1, c1 = time.perf_counter(), time.thread_time()
        store.vector_search(scope, v, None, LIMIT)
        w2, c2 = time.perf_counter(), time.thread_time()
        for key, (wa, wb, ca, cb) in {"text": (w0, w1, c0, c1), "vector": (w1, w2, c1, c2),
                                      "both": (w0, w2, c0, c2)}.items():
            wall[key].append(wb - wa)
            cpu[key].append(cb - ca)
    filtered_t: list[float] = []
    session_filter = parse_filter({"speaker": "alice", "position": {"$lt": 5}})
    for v in vectors[:50]:
        t0 = time.perf_counter()
        store.vector_search(scope, v, session_filter, LIMIT)
        filtered_t.append(time.perf_counter() - t0)
    out.update({
        "text_search": percentiles(wall["text"], cpu["text"]),
        "vector_search": percentiles(wall["vector"], cpu["vector"]),
        "text_plus_vector": percentiles(wall["both"], cpu["both"]),
        "vector_search_filtered_12pct": percentiles(filtered_t),
        "text_pruning": text_pruning_quality(store, scope, queries[:50]),
    })
    approx = [[h.id for h in store.vector_search(scope, v, None, 10)] for v in vectors[:100]]
    store.close()
    if "hnsw_build_or_load_s" in out:
        exact_store = SQLiteStore(path, StoreSettings(ann_threshold=10**9), SystemClock())
        truth = [{h.id for h in exact_store.vector_search(scope, v, None, 10)}
                 for v in vectors[:100]]
        exact_store.close()
        out["vector_recall_at_10_vs_exact"] = round(float(np.mean(
            [len(t & set(a)) / 10 for t, a in zip(truth, approx, strict=True)])), 4)
    return out


def text_pruning_quality(store: SQLiteStore, scope: Scope, queries: list[str]) -> dict[str, Any]:
    """Top-10 overlap of the bounded text search with the unbounded one, and its latency."""
    pruned = [[h.id for h in store.text_search(scope, q, None, 10)] for q in queries]
    saved = (fts.POSTING_BUDGET, search.CANDIDATE_CAP)
    fts.POSTING_BUDGET, search.CANDIDATE_CAP = 10**12, 10**12
    try:
        times, full = [], []
        for q in queries:
            t = time.perf_counter()
            full.append({h.id for h in store.text_search(scope, q, None, LIMIT)})
            times.append(time.perf_counter() - t)
        full10 = [{h.id for h in store.text_search(scope, q, None, 10)} for q in queries]
    finally:
        fts.POSTING_BUDGET, search.CANDIDATE_CAP = saved
    overlap = [len(f & set(p)) / max(1, len(f)) for f, p in zip(full10, pruned, strict=True)]
    return {"overlap_at_10_with_unbounded": round(float(np.mean(overlap)), 4),
            "unbounded_text_search": percentiles(times),
            "posting_budget": fts.POSTING_BUDGET, "candidate_cap": search.CANDIDATE_CAP}


def cold_open(path: Path) -> dict[str, float]:
    """Open the database in a fresh process and run the first text + vector search."""
    script = (
        "import sys, time, numpy as np\n"
        "from memosys.core.clock import SystemClock\n"
        "from memosys.settings import StoreSettings\n"
        "from memosys.stores.base import Scope\n"
        "from memosys.stores.sqlite import SQLiteStore\n"
        "t = time.perf_counter()\n"
        "s = SQLiteStore(sys.argv[1], StoreSettings(), SystemClock())\n"
        "scope = Scope('u1', ('bench',))\n"
        "s.text_search(scope, 'what did they say about kalo mine', None, 100)\n"
        "v = np.random.default_rng(0).standard_normal(384).astype(np.float32)\n"
        "s.vector_search(scope, v / np.linalg.norm(v), None, 100)\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], check=True,
                         capture_output=True, text=True)
    return {"open_and_first_search_s": round(float(out.stdout.strip()), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dir", default="/tmp/memosys-store-bench")
    parser.add_argument("--out", default="benchmarks/results/store_bench.json")
    args = parser.parse_args()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    workdir = Path(args.dir)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    results = []
    for n in args.sizes:
        path = workdir / f"store-{n}.db"
        rng = np.random.default_rng(n)
        row: dict[str, Any] = {"n": n, "add": build(path, n, args.batch, rng)}
        print(json.dumps(row), flush=True)
        row["cold_open"] = cold_open(path)
        print(json.dumps(row["cold_open"]), flush=True)
        row["search"] = search_latency(path, args.queries, rng)
        print(json.dumps(row["search"]), flush=True)
        row["cold_open_after_search"] = cold_open(path)  # the HNSW index is saved by now
        print(json.dumps(row["cold_open_after_search"]), flush=True)
        results.append(row)
    report = {
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    # the machine is shared with other work: high load inflates timings
                    "load_average_at_start": load_at_start,
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "limit": LIMIT, "dim": DIM, "ann_threshold": StoreSettings().ann_threshold,
        "results": results,
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
