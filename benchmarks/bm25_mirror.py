"""BM25 alone on a large store: FTS5 inside SQLite against the in-memory mirror, same queries.

    .venv/bin/python benchmarks/bm25_mirror.py --n 100000 --data-dir DIR

The store is the one ``search_latency.py`` builds (``--data-dir`` points at a
copy: opening it with this code adds migration 0007). Per query, in turn:
FTS5 then the mirror, each timed for the ranking alone (document
frequencies, candidates, BM25 of the newest ``CANDIDATE_CAP`` matches, the
pool best) and for the whole ``text_search`` (plus the scope check in SQL);
no query embedding. The results are compared (same ids in order, scores to
1e-9 relative), and the mirror's load time and memory are measured, and the
first search after another store on the file adds one memory (the mirror
catches up) and after it deletes it again (the store keeps ``--n`` memories).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import store_dir, write_result
from search_latency import queries

from memosys.core.clock import SystemClock
from memosys.core.items import MemoryItem
from memosys.eval.metrics import percentile
from memosys.settings import StoreSettings
from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore, search
from memosys.stores.sqlite.connection import Database
from memosys.stores.sqlite.fts import bounded_query, doc_freqs, query_terms
from memosys.stores.sqlite.text_mirror import TextMirror

LIMIT = 10


def _summary(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": percentile(samples, 50), "p95_ms": percentile(samples, 95),
            "max_ms": max(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    directory = args.data_dir or store_dir(args.n, "real")
    db = Database(directory / "memosys.db", 10.0)
    mirror = TextMirror(db, inline_rows=10**9)  # load inline, timed
    timings: dict[str, list[float]] = {
        "fts5_rank": [], "mirror_rank": [], "fts5_search": [], "mirror_search": []
    }
    mismatches, worst, matched = 0, 0.0, []
    now = datetime.now(UTC)
    with db.read() as conn:
        owner, cube_id = conn.execute("SELECT owner, id FROM cubes LIMIT 1").fetchone()
        scope = Scope(owner, (cube_id,))
        start = time.perf_counter()
        mirror.current(conn)
        load_s = time.perf_counter() - start
        pool = search._pool(LIMIT)
        for query in queries(args.queries, 11):
            terms = query_terms(query)
            start = time.perf_counter()
            match = bounded_query(terms, doc_freqs(conn, terms))
            search.fts5_ranked(conn, match, pool)
            timings["fts5_rank"].append(time.perf_counter() - start)
            start = time.perf_counter()
            found = mirror.postings(conn, terms)
            assert found is not None, query
            freqs = found.doc_freqs()
            found.ranked(terms, freqs, search.CANDIDATE_CAP, pool)
            timings["mirror_rank"].append(time.perf_counter() - start)
            matched.append(_matches(conn, match))
            start = time.perf_counter()
            expected = search.text_search(conn, scope, query, None, LIMIT, now)
            timings["fts5_search"].append(time.perf_counter() - start)
            start = time.perf_counter()
            hits = search.text_search(conn, scope, query, None, LIMIT, now, mirror)
            timings["mirror_search"].append(time.perf_counter() - start)
            if [h.id for h in hits] != [h.id for h in expected]:
                mismatches += 1
            for hit, want in zip(hits, expected, strict=False):
                worst = max(worst, abs(hit.score - want.score) / abs(want.score))
        after_write = _after_writes(directory, conn, mirror, scope, now)
    payload: dict[str, Any] = {
        "memories": args.n,
        "data_dir": str(directory),
        "queries": args.queries,
        "matched_rows_p50": percentile(matched, 50),
        "mirror_load_s": load_s,
        "mirror_mib": mirror.nbytes() / 2**20,
        "results_differing": mismatches,
        "max_relative_score_difference": worst,
        **{name: _summary([s * 1000 for s in samples]) for name, samples in timings.items()},
        "mirror_search_after_write_ms": after_write,
    }
    db.close()
    write_result(f"bm25_mirror_{args.n}", payload)


def _after_writes(
    directory: Path, conn: Any, mirror: TextMirror, scope: Scope, now: datetime
) -> dict[str, float]:
    """One mirror search after another store adds a memory, and one after it deletes it."""
    query = "What did Alice paint near the lake?"
    store = SQLiteStore(directory / "memosys.db", StoreSettings(), SystemClock())
    item = MemoryItem(id="bm25-mirror-bench", cube_id=scope.cube_ids[0], user_id=scope.user_id,
                      owner=scope.user_id, content="Alice painted a kayak near the lake",
                      created_at=now, updated_at=now)
    timed = {}
    try:
        for step in ("add", "delete"):
            if step == "add":
                store.add_items([item], None, None)
            else:
                store.delete_items(scope, [item.id])
            start = time.perf_counter()
            hits = search.text_search(conn, scope, query, None, LIMIT, now, mirror)
            timed[f"after_{step}"] = (time.perf_counter() - start) * 1000
            assert (item.id in {h.id for h in hits}) == (step == "add"), step
    finally:
        store.close()
    return timed


def _matches(conn: Any, match: str) -> float:
    """How many rows the bounded query matches (FTS5 computes BM25 for the newest 10,000)."""
    return float(conn.execute(
        "SELECT count(*) FROM items_fts WHERE items_fts MATCH ?", (match,)
    ).fetchone()[0])


if __name__ == "__main__":
    main()
