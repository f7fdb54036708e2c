"""The first searches after the server starts, with and without ``memosys serve --warm``.

    .venv/bin/python benchmarks/server_warm_start.py --rounds 3

Each start serves a fresh copy of the 100k-memory store of ``server_load.py``
(with its saved HNSW index) with ``--warm`` (the default: the search indexes
load in the background at startup) or ``--no-warm`` (each loads on first
use), in turn. ``--delay-s`` after ``/healthz`` first answers (as traffic
comes once a load balancer has seen the server healthy), one client sends
a hybrid search (a query new to the server) every ``--interval-s`` for
``--watch-s`` seconds; reported per mode: the time to ``/healthz``, the first
search's latency, and the p50 / max of the searches in each window after
it. Both modes load the same things; warming only moves the loading before
the first search, so a first search sent at once (``--delay-s 0``) waits
about as long either way.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import onnxruntime  # noqa: F401  (before usearch: see search_latency.py)
from _common import CACHE, write_result
from search_latency import CUBE, queries
from server_load import _free_port, prepare, wait_for

from memosys.eval.metrics import percentile

WINDOWS_S = ((0.0, 1.0), (1.0, 3.0), (3.0, 10.0))


def one_start(directory: Path, key: str, warm: bool, args: argparse.Namespace,
              seed: int) -> dict[str, Any]:
    """Start the server, watch its first searches, stop it."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    flag = "--warm" if warm else "--no-warm"
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "memosys.cli", "serve", "--data", str(directory), "--port",
         str(port), "--log-level", "warning", "--no-jobs", flag],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(url, server, "/healthz", 1)
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            time.sleep(args.delay_s)
            healthy = time.perf_counter()
            samples: list[tuple[float, float]] = []  # (seconds after the delay, latency ms)
            for query in queries(int(args.watch_s / args.interval_s), seed):
                sent = time.perf_counter()
                if sent - healthy > args.watch_s:
                    break
                response = client.post(f"{url}/v1/search", json={
                    "query": query, "cube": CUBE, "top_k": 10})
                response.raise_for_status()
                samples.append((sent - healthy, (time.perf_counter() - sent) * 1000))
                time.sleep(max(0.0, args.interval_s - (time.perf_counter() - sent)))
    finally:
        server.terminate()
        server.wait(60)
    windows = {}
    for low, high in WINDOWS_S:
        inside = [ms for at, ms in samples if low <= at < high]
        if inside:
            windows[f"{low:g}-{high:g}s"] = {"searches": len(inside),
                                            "p50_ms": round(percentile(inside, 50), 1),
                                            "max_ms": round(max(inside), 1)}
    return {"healthz_after_s": round(healthy - args.delay_s - started, 2),
            "first_search_ms": round(samples[0][1], 1), "windows": windows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--watch-s", type=float, default=12.0)
    parser.add_argument("--interval-s", type=float, default=0.1)
    parser.add_argument("--delay-s", type=float, default=3.0,
                        help="seconds from the first healthy /healthz to the first search")
    args = parser.parse_args()
    directory = CACHE / f"server-warm-{args.n}"
    seed = time.time_ns() % 2**31
    runs: dict[str, list[dict[str, Any]]] = {"warm": [], "no_warm": []}
    for round_ in range(args.rounds):
        for mode in runs:  # in turn, so a drifting machine touches both alike
            key = prepare(directory, args.n)  # a fresh copy: nothing loaded from a last run
            runs[mode].append(one_start(directory, key, mode == "warm", args,
                                        seed + 100 * round_ + len(runs[mode])))
            print(mode, runs[mode][-1], file=sys.stderr, flush=True)
    write_result("server_warm_start", {
        "memories": args.n, "search": "hybrid, top 10, one client, one search per interval",
        "interval_s": args.interval_s, "delay_s": args.delay_s, "runs": runs})


if __name__ == "__main__":
    main()
