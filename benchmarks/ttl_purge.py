"""Cost of the ``ttl-purge`` job on a large store: the per-batch erasure and the
end-of-run compaction (FTS merge, WAL checkpoint) that makes expiry leave no
trace in the files, and for comparison a full one that also VACUUMs (as
forget's did, and still does once on a database made before 2026-11-27).

It works on a copy of the 100k-memory benchmark store that
``search_latency.py --vectors real`` builds (``--store`` to pass another data
directory), so the original is never changed. The cube's vectors and HNSW index are
loaded first, as in a running server. The run deletes the saved HNSW index (it held
the purged vectors); it also times the first dense search after the run, and how
long until the HNSW index serves searches again. Usage::

    .venv/bin/python benchmarks/ttl_purge.py [--store DIR] [--expire 200 2000]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import store_dir, write_result

from memosys import MemOS
from memosys.core.clock import FixedClock
from memosys.stores.sqlite import forget


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = call()
    return result, round(time.perf_counter() - start, 3)


def _measure(source: Path, expire: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        data = Path(folder) / "data"
        shutil.copytree(source, data)
        now = datetime.now(UTC)
        clock = FixedClock(now)
        with MemOS.open(data, clock=clock) as mos:
            store_db = mos.store._db  # type: ignore[attr-defined]
            with store_db.read() as conn:
                (user,) = conn.execute("SELECT user_id FROM items LIMIT 1").fetchone()
            cube_id = mos.search("concert tickets", user_id=user, mode="dense")[0].item.cube_id
            assert mos.store.wait_for_vector_index(cube_id, timeout=600)  # type: ignore[attr-defined]
            victims = mos.list(user_id=user, limit=expire)
            for item in victims:
                mos.set_expiry(item.id, user_id=user, expires_at=now + timedelta(hours=1))
            db_bytes = (data / "memosys.db").stat().st_size
            clock.set(now + timedelta(hours=2))
            spent: list[float] = []
            original = forget.compact

            def timed_compact(db: Any, *, rewrite: bool) -> bool:
                done, seconds = _timed(lambda: original(db, rewrite=rewrite))
                spent.append(seconds)
                return bool(done)

            forget.compact = timed_compact  # type: ignore[assignment]
            try:
                run, run_s = _timed(lambda: mos.run_job("ttl-purge"))
            finally:
                forget.compact = original  # type: ignore[assignment]
            _, search_s = _timed(lambda: mos.search("concert tickets", user_id=user, mode="dense"))
            _, hnsw_s = _timed(lambda: mos.store.wait_for_vector_index(  # type: ignore[attr-defined]
                cube_id, timeout=600))
            _, rewrite_s = _timed(lambda: forget.compact(store_db, rewrite=True))
        return {
            "expired": expire,
            "db_bytes": db_bytes,
            "result": run.result,
            "run_s": run_s,
            "end_step_compact_s": spent[0] if spent else None,
            "batches_s": round(run_s - (spent[0] if spent else 0.0), 3),
            "first_dense_search_after_s": search_s,
            "hnsw_ready_after_s": round(search_s + hnsw_s, 3),
            "compact_with_vacuum_s": rewrite_s,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--expire", type=int, nargs="+", default=[200, 2000])
    args = parser.parse_args()
    source = args.store or store_dir(100_000, "real")
    if not (source / "memosys.db").exists():
        raise SystemExit(f"no store at {source}; build it with search_latency.py --vectors real")
    runs = [_measure(source, n) for n in args.expire]
    write_result("ttl_purge_100000", {
        "note": "shared 2-core machine, other agents running; seconds; copy of the 100k store",
        "runs": runs,
    })


if __name__ == "__main__":
    main()
