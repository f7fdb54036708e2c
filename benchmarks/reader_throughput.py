"""Raw-reader speed on the real LoCoMo dev turns: enrichment per message, messages/s, chunking.

Usage: .venv/bin/python benchmarks/reader_throughput.py [--repeat 5]
Writes benchmarks/results/reader_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import write_result

from memosys.core.clock import SystemClock
from memosys.reader.documents import read_document
from memosys.reader.entities import extract_entities
from memosys.reader.keywords import extract_keywords
from memosys.reader.messages import read_messages
from memosys.reader.timeexpr import find_time_refs
from memosys.settings import ReaderSettings

LOCOMO = Path("/work/shared/data/locomo/locomo_dev.json")


def sessions() -> list[list[dict[str, Any]]]:
    """Each LoCoMo dev session as a list of chat messages."""
    out = []
    for sample in json.loads(LOCOMO.read_text(encoding="utf-8")):
        conv = sample["conversation"]
        for key, turns in conv.items():
            if key.startswith("session_") and isinstance(turns, list):
                out.append([{"role": "user", "name": t["speaker"], "content": t["text"],
                             "metadata": {"dia_id": t["dia_id"]}} for t in turns])
    return out


def per_call_us(fn: Callable[[str], object], texts: list[str], repeat: int) -> dict[str, float]:
    """Mean and p99 microseconds of ``fn`` over ``texts`` (best of ``repeat`` means)."""
    means, samples = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        for text in texts:
            t0 = time.perf_counter()
            fn(text)
            samples.append(time.perf_counter() - t0)
        means.append((time.perf_counter() - start) / len(texts))
    samples.sort()
    return {"mean_us": round(min(means) * 1e6, 1),
            "p99_us": round(samples[int(len(samples) * 0.99)] * 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    convs = sessions()
    texts = [m["content"] for s in convs for m in s]
    ref = datetime(2023, 5, 10, 14, tzinfo=UTC)
    enrichment = {
        "keywords": per_call_us(extract_keywords, texts, args.repeat),
        "entities": per_call_us(extract_entities, texts, args.repeat),
        "time_refs": per_call_us(lambda t: find_time_refs(t, ref), texts, args.repeat),
    }
    settings, clock = ReaderSettings(), SystemClock()
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        for i, session in enumerate(convs):
            read_messages(session, "u", "c", f"s{i}", ref, None, None, 0, settings, clock)
        best = min(best, time.perf_counter() - start)
    document = "\n\n".join(
        f"## Session {i}\n\n" + "\n\n".join(m["content"] for m in s) for i, s in enumerate(convs)
    )
    doc_best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        chunks = read_document("locomo.md", text=document, user_id="u", cube_id="c",
                               settings=settings, clock=clock)
        doc_best = min(doc_best, time.perf_counter() - start)
    write_result("reader_throughput", {
        "data": f"{LOCOMO} ({len(texts)} turns, {len(convs)} sessions)",
        "mean_chars_per_turn": round(statistics.mean(len(t) for t in texts), 1),
        "enrichment_per_message": enrichment,
        "enrichment_total_mean_us": round(sum(v["mean_us"] for v in enrichment.values()), 1),
        "read_messages_per_s": round(len(texts) / best),
        "read_document": {"chars": len(document), "chunks": len(chunks),
                          "chars_per_s": round(len(document) / doc_best),
                          "seconds": round(doc_best, 3)},
    })


if __name__ == "__main__":
    main()
