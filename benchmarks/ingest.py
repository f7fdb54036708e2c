"""Ingest throughput and import time.

    .venv/bin/python benchmarks/ingest.py

* ``mos.add`` with the bundled embedder, on the LoCoMo dev conversations
  (one call per session, as an app would send them): target >= 300 msgs/s;
* ``mos.add_texts`` with vectors supplied (no embedding): target >= 5,000/s;
* ``import memosys`` in a fresh interpreter: target <= 0.3 s.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import clustered_vectors, synthetic_texts, write_result

from memosys import MemOS
from memosys.eval.locomo import load_locomo

LOCOMO = Path("/work/shared/data/locomo/locomo_dev.json")


def add_messages(data: Path) -> dict[str, Any]:
    """Messages/s through ``mos.add`` (reader, embedding, store) on LoCoMo sessions, and
    the database bytes they take (by table and index, from SQLite's ``dbstat``)."""
    convs = load_locomo(data)
    with tempfile.TemporaryDirectory() as tmp, MemOS.open(tmp) as mos:
        mos.embedder.embed(["warm up the model"])
        messages, start = 0, time.perf_counter()
        for conv in convs:
            for session in conv.sessions:
                mos.add(session.messages, user_id="bench", cube=conv.sample_id,
                        session_id=session.session_id, session_time=session.time)
                messages += len(session.messages)
        seconds = time.perf_counter() - start
        stored = database_bytes(Path(tmp) / "memosys.db")
    return {"messages": messages, "seconds": seconds, "messages_per_s": messages / seconds,
            "database_bytes_per_message": sum(stored.values()) / messages,
            "database_bytes_by_table": stored}


def database_bytes(path: Path) -> dict[str, int]:
    """Bytes of each table and index of a SQLite database, largest first (WAL checkpointed
    into the file first)."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name "
                            "ORDER BY 2 DESC").fetchall()
    return {str(name): int(size) for name, size in rows}


def add_texts_with_vectors(n: int, batch: int) -> dict[str, Any]:
    """Items/s through ``mos.add_texts`` with embeddings supplied."""
    texts, vectors = synthetic_texts(n), clustered_vectors(n)
    with tempfile.TemporaryDirectory() as tmp, MemOS.open(tmp) as mos:
        mos.create_cube("bench", owner="bench")
        start = time.perf_counter()
        for i in range(0, n, batch):
            mos.add_texts(texts[i : i + batch], user_id="bench", cube="bench",
                          embeddings=vectors[i : i + batch])
        seconds = time.perf_counter() - start
    return {"items": n, "batch": batch, "seconds": seconds, "items_per_s": n / seconds}


def import_time(repeats: int) -> dict[str, Any]:
    """``import memosys`` measured inside fresh interpreters (median of ``repeats``)."""
    code = ("import time; t = time.perf_counter(); import memosys; "
            "print(time.perf_counter() - t)")
    inside, whole, bare = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True)
        whole.append(time.perf_counter() - start)
        inside.append(float(out.stdout))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
    return {"repeats": repeats, "import_s_median": statistics.median(inside),
            "process_s_median": statistics.median(whole),
            "bare_python_process_s_median": statistics.median(bare)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=LOCOMO)
    parser.add_argument("--texts", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    payload = {
        "import": import_time(args.repeats),
        "add_texts_with_vectors": add_texts_with_vectors(args.texts, args.batch),
        "add_messages_bundled_embedder": add_messages(args.data),
    }
    write_result("ingest", payload)


if __name__ == "__main__":
    main()
