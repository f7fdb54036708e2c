"""Costs of versions, time travel and forgetting on a real SQLite data directory.

For each cube size: a versioned update (p50/p95), ``list(as_of=)`` and
``search(as_of=)`` (hybrid: the live indexes for the items unchanged since
then, plus the 50 versions changed since), a live search for comparison, a
snapshot, and ``forget`` of one memory
(deletes, FTS merge, checkpoint and VACUUM: it grows with the database).
The hash embedder is used so that the model is not what is measured.
Usage::

    .venv/bin/python benchmarks/lifecycle_bench.py [--sizes 1000 10000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from _common import synthetic_texts, write_result

from memosys import MemOS
from memosys.settings import HashEmbedderConfig, MemosysSettings

QUERIES = ["Who repaired the bicycle?", "vegan lasagna at the farmers market",
           "concert tickets last summer", "the garden shed in Berlin"]


def _ms(call: Callable[[], Any], repeats: int) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 2),
            "calls": repeats}


def _measure(size: int, repeats: int) -> dict[str, Any]:
    settings = MemosysSettings(embedder=HashEmbedderConfig())
    with (
        tempfile.TemporaryDirectory() as folder,
        MemOS.open(Path(folder), settings=settings) as mos,
    ):
        start = time.perf_counter()
        items = mos.add_texts(synthetic_texts(size), user_id="ana")
        ingest_s = time.perf_counter() - start
        before_updates = mos.store.clock.now()  # type: ignore[attr-defined]
        counter = iter(range(10**9))
        targets = items[: max(repeats, 50)]

        def update() -> None:
            n = next(counter)
            mos.update(targets[n % len(targets)].id, user_id="ana",
                       content=f"{targets[n % len(targets)].content} (edit {n})")

        update_ms = _ms(update, max(repeats, 50))
        at = before_updates - timedelta(microseconds=1)
        queries = iter(QUERIES * repeats)
        result = {
            "items": size,
            "ingest_s": round(ingest_s, 2),
            "versioned_update": update_ms,
            "list_as_of_100": _ms(lambda: mos.list(user_id="ana", as_of=at, limit=100), repeats),
            "search_as_of_hybrid": _ms(
                lambda: mos.search(next(queries), user_id="ana", as_of=at), repeats
            ),
            "search_live_hybrid": _ms(
                lambda: mos.search(next(queries), user_id="ana"), repeats
            ),
            "snapshot": _ms(
                lambda: mos.snapshot("default", f"s{next(counter)}", user_id="ana"), 5
            ),
        }
        victims = iter(items[-10:])
        result["forget_one"] = _ms(lambda: mos.forget(next(victims).id, user_id="ana"), 5)
        result["db_bytes"] = mos.stats()["db_bytes"]
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    runs = [_measure(size, args.repeats) for size in args.sizes]
    write_result("lifecycle", {
        "note": "shared machine: other agents were running; hash embedder; latencies in ms",
        "runs": runs,
    })


if __name__ == "__main__":
    main()
