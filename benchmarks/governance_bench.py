"""Governance costs: key authentication, audit appends, chain verification, audit queries.

Runs on a fresh data directory with the hash embedder (the model is not what
is measured). Usage::

    .venv/bin/python benchmarks/governance_bench.py [--records 100000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import write_result

from memosys import MemOS
from memosys.core.events import MemoryChange
from memosys.settings import HashEmbedderConfig, MemosysSettings


def _latencies_us(call: Callable[[], Any], repeats: int, pause_s: float = 0.0) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e6)
        time.sleep(pause_s)
    cuts = statistics.quantiles(times, n=100)
    return {"p50_us": round(cuts[49], 1), "p95_us": round(cuts[94], 1),
            "p99_us": round(cuts[98], 1), "calls": repeats}


def _fill(mos: MemOS, records: int, batch: int = 1000) -> float:
    """Append ``records`` memory.add records in batches; returns records per second."""
    cube = mos.create_cube("bulk", owner="ana")
    start = time.perf_counter()
    for first in range(0, records, batch):
        ids = [f"item-{i}" for i in range(first, min(first + batch, records))]
        mos.governance.record_change(MemoryChange("added", tuple(ids), cube.id, "ana"))
    return records / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000, help="audit records to verify")
    args = parser.parse_args()
    settings = MemosysSettings(embedder=HashEmbedderConfig())
    with tempfile.TemporaryDirectory() as tmp, MemOS.open(Path(tmp), settings=settings) as mos:
        key = mos.create_user("ana").api_key
        mos.add_texts(["warm up"], user_id="ana")
        mos.add_texts(["bob's only memory"], user_id="bob")
        result: dict[str, Any] = {
            "authenticate_valid_key": _latencies_us(lambda: mos.authenticate(key), 3000),
            "append_one_record": _latencies_us(
                lambda: mos.governance.record("memory.add", "ana", item_id="x"), 2000
            ),
            "add_texts_one_item_with_audit": _latencies_us(_adder(mos), 1000),
            "authenticate_valid_key_while_adding_2000_text_batches": _while_adding(
                mos, lambda: mos.authenticate(key), 1500
            ),
        }
        result["append_batched_records_per_s"] = round(_fill(mos, args.records))
        total = mos.verify_audit().records
        start = time.perf_counter()
        verdict = mos.verify_audit()
        seconds = time.perf_counter() - start
        assert verdict.ok and verdict.records == total
        result["verify"] = {"records": total, "seconds": round(seconds, 3),
                            "records_per_s": round(total / seconds)}
        result["audit_log_query_non_admin_limit_100"] = _latencies_us(
            lambda: mos.audit_log(user_id="ana", limit=100), 200
        )
        result["audit_log_query_user_with_few_records"] = _latencies_us(
            lambda: mos.audit_log(user_id="bob", limit=100), 200
        )
        result["audit_log_query_by_item"] = _latencies_us(
            lambda: mos.audit_log(user_id="ana", item_id="item-5"), 200
        )
    result["note"] = (
        "measured on the shared development machine while other agents ran tests and "
        "benchmarks (2 cores, loaded); absolute figures are pessimistic"
    )
    path = write_result("governance", result)
    print(path.read_text())


def _while_adding(mos: MemOS, call: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Latencies of ``call`` (1 ms apart) while another thread adds 2,000 texts at a time."""
    stop, batches = threading.Event(), [0]

    def add_batches() -> None:
        while not stop.is_set():
            texts = [f"fact {batches[0]}-{i} about the garden" for i in range(2000)]
            mos.add_texts(texts, user_id="ana", cube="bulk-adds")
            batches[0] += 1

    adder = threading.Thread(target=add_batches)
    adder.start()
    try:
        result = _latencies_us(call, repeats, pause_s=0.001)
    finally:
        stop.set()
        adder.join()
    return {**result, "add_batches_meanwhile": batches[0]}


def _adder(mos: MemOS) -> Callable[[], Any]:
    counter = iter(range(10**9))
    return lambda: mos.add_texts([f"note number {next(counter)}"], user_id="ana")


if __name__ == "__main__":
    main()

