"""What the REST layer adds to a call: the same calls in process and over HTTP on loopback.

    .venv/bin/python benchmarks/server_overhead.py --memories 2000 --calls 300

One data directory (synthetic memories with real MiniLM vectors), served by
uvicorn in a thread; ``RemoteMemOS`` and the local ``MemOS`` make the same
calls one at a time, interleaved (get, list of 20, search top 10 with
queries already embedded, add of one message), and the p50/p95 of each are
compared.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnxruntime  # noqa: F401  (before usearch: see search_latency.py)
from _common import real_vectors, synthetic_texts, write_result

from memosys import MemOS, RemoteMemOS
from memosys.eval.metrics import percentile
from memosys.server.app import create_app
from memosys.server.background import BackgroundServer

USER = "bench"


def timed(calls: dict[str, Callable[[int], Any]], count: int) -> dict[str, dict[str, float]]:
    """p50/p95 in ms of each ``call(i)``, the calls interleaved so drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(count + 10):
        for name, call in calls.items():
            start = time.perf_counter()
            call(i)
            if i >= 10:  # the first calls warm up caches and connections
                samples[name].append((time.perf_counter() - start) * 1000)
    return {name: {"p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95)}
            for name, values in samples.items()}


def calls(api: Any, ids: list[str], questions: list[str], tag: str) -> dict[str, Any]:
    return {
        "get": lambda i: api.get(ids[i % len(ids)], user_id=USER),
        "list_20": lambda i: api.list(user_id=USER, limit=20, offset=i % 100),
        "search_top10": lambda i: api.search(questions[i % len(questions)], user_id=USER),
        "add_1_message": lambda i: api.add(
            [{"role": "user", "content": f"{tag} overhead probe {i}"}], user_id=USER),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    texts = synthetic_texts(args.memories, seed=3)
    vectors = real_vectors(texts, f"overhead{args.memories}")
    questions = [text.split(" ", 3)[-1] for text in texts[:20]]
    with tempfile.TemporaryDirectory() as tmp, MemOS.open(Path(tmp)) as mos:
        items = mos.add_texts(texts, user_id=USER, embeddings=vectors)
        ids = [item.id for item in items]
        admin = mos.ensure_admin_key()
        assert admin is not None
        for question in questions:  # the query vectors are cached from here on
            mos.search(question, user_id=USER)
        with BackgroundServer(create_app(mos)) as server, \
                RemoteMemOS(server.url, api_key=admin.api_key) as remote:
            result: dict[str, Any] = {}
            local_calls = calls(mos, ids, questions, "local")
            remote_calls = calls(remote, ids, questions, "remote")
            for name in local_calls:
                both = timed({"in_process": local_calls[name], "http": remote_calls[name]},
                             args.calls)
                added = both["http"]["p50_ms"] - both["in_process"]["p50_ms"]
                result[name] = {**both, "added_p50_ms": added}
    write_result("server_overhead", {
        "note": "2-core machine shared with other agents; one call at a time; uvicorn in a "
                "thread of this process, RemoteMemOS over loopback TCP",
        "memories": args.memories,
        "calls_per_kind": args.calls,
        "results": result,
    })


if __name__ == "__main__":
    main()
