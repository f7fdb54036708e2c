"""What forgetting memories costs `serve --workers`: the index keeper's CPU, and searches.

    .venv/bin/python benchmarks/server_forgets.py --workers 2 --forgets 3 --watch-s 60 \\
        --add-every-s 0.5

``memosys serve`` runs on a fresh copy of the 100k store of ``server_load.py``.
After a few searches, one client forgets ``--forgets`` memories (``POST
/v1/memories/{id}/forget``), then for ``--watch-s`` searches one at a time
(every 50 ms) and, every ``--add-every-s``, adds 20 texts with their vectors.
Reported: the parent process's CPU seconds over that time (it keeps the
shared HNSW index, so it takes in the removals), the forgets' latency, and
the searches' p50/p95.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import httpx
import numpy as np
from _common import CACHE, write_result
from search_latency import CUBE, queries
from server_load import (
    _ends_with_this_process,
    _free_port,
    prepare,
    process_cpu_seconds,
    wait_for,
)

from memosys.eval.metrics import percentile


def watch(http: httpx.Client, questions: list[str], watch_s: float,
          add_every_s: float | None) -> tuple[list[float], int]:
    """Search every 50 ms and add 20 texts every ``add_every_s``; the search latencies
    (ms) and the adds made."""
    rng = np.random.default_rng(1)
    latencies: list[float] = []
    adds = 0
    start = next_add = time.monotonic()
    while time.monotonic() - start < watch_s:
        if add_every_s and time.monotonic() >= next_add:
            next_add += add_every_s
            vectors = rng.standard_normal((20, 384))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            texts = [f"note {adds}.{n}" for n in range(20)]
            response = http.post("/v1/memories/texts", json={
                "cube": CUBE, "texts": texts, "embeddings": vectors.round(6).tolist()})
            response.raise_for_status()
            adds += 1
        began = time.perf_counter()
        http.post("/v1/search", json={"query": questions[len(latencies) % len(questions)],
                                      "cube": CUBE, "top_k": 10}).raise_for_status()
        latencies.append((time.perf_counter() - began) * 1000)
        time.sleep(0.05)
    return latencies, adds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--forgets", type=int, default=3)
    parser.add_argument("--watch-s", type=float, default=60.0)
    parser.add_argument("--add-every-s", type=float, default=None)
    parser.add_argument("--out", default="server_forgets")
    args = parser.parse_args()
    directory = CACHE / "server_forgets"
    key = prepare(directory, 100_000)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "memosys.cli", "serve", "--data", str(directory),
         "--port", str(port), "--log-level", "warning", "--workers", str(args.workers)],
        preexec_fn=_ends_with_this_process,
    )
    try:
        wait_for(url, server, "/readyz", 3 * args.workers)
        questions = queries(400, 11)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"},
                          timeout=120) as http:
            for question in questions[:20]:  # every worker has the cube loaded
                http.post("/v1/search", json={"query": question, "cube": CUBE, "top_k": 10})
            hits = http.post("/v1/search", json={"query": questions[21], "cube": CUBE,
                                                 "top_k": args.forgets}).json()["hits"]
            cpu_before = process_cpu_seconds(server.pid)
            forget_ms = []
            for hit in hits:
                began = time.perf_counter()
                http.post(f"/v1/memories/{hit['item']['id']}/forget").raise_for_status()
                forget_ms.append(round((time.perf_counter() - began) * 1000))
            latencies, adds = watch(http, questions, args.watch_s, args.add_every_s)
            parent_cpu_s = process_cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(60)
    write_result(args.out, {
        "workers": args.workers, "forgets": len(forget_ms), "watch_s": args.watch_s,
        "add_every_s": args.add_every_s, "adds_of_20": adds,
        "parent_cpu_s": round(parent_cpu_s, 2), "forget_ms": forget_ms,
        "search_ms": {"count": len(latencies),
                      **{f"p{q}": round(percentile(latencies, q), 1) for q in (50, 95)}},
    })


if __name__ == "__main__":
    main()
