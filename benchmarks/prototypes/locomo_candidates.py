"""Dump LoCoMo retrieval candidates (per-retriever ranks and scores) for offline re-ranking.

    .venv/bin/python benchmarks/prototypes/locomo_candidates.py \
        --data /work/shared/data/locomo/locomo_dev.json --out /tmp/memosys-bench/locomo_cands.json

Ingests every conversation exactly as ``memosys eval locomo`` does, then runs
one hybrid search per question with a wide ``top_k`` and keeps, for each hit,
its turn id and the BM25 and dense rank/score from ``hit.explain``. The
re-ranking prototypes in ``locomo_rerank.py`` read this file; nothing here
changes retrieval.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from memosys import MemOS
from memosys.eval.locomo import load_locomo
from memosys.eval.runner.harness import EVAL_USER, ingest
from memosys.eval.runner.measure import Timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--top-k", type=int, default=200)
    args = parser.parse_args()
    convs = load_locomo(args.data)
    rows = []
    timings = Timings()
    with tempfile.TemporaryDirectory() as tmp, MemOS.open(tmp) as mos:
        for conv in convs:
            cube = f"locomo-{conv.sample_id}"
            ingest(mos, cube, conv.sessions, timings)
            print(f"{conv.sample_id}: ingested, {timings.total('ingest'):.0f} s", file=sys.stderr)
            for q in conv.questions:
                hits = mos.search(q.question, user_id=EVAL_USER, cube=cube, top_k=args.top_k)
                cands = []
                for h in hits:
                    ranks = {m.retriever: [m.rank, m.score] for m in h.explain.retrievers}
                    cands.append({"id": h.item.metadata["dia_id"], "fused": h.score, **ranks})
                rows.append({"qid": q.qid, "category": q.category, "question": q.question,
                             "gold": q.evidence, "cands": cands})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                    "questions": rows}), encoding="utf-8")


if __name__ == "__main__":
    main()
