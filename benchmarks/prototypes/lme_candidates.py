"""Dump LongMemEval message-level candidates from a store built by ``memosys eval longmemeval``.

    .venv/bin/memosys eval longmemeval --data FILE --data-dir /tmp/memosys-eval/lme ...
    .venv/bin/python benchmarks/prototypes/lme_candidates.py --data FILE \
        --data-dir /tmp/memosys-eval/lme --out /tmp/memosys-bench/lme_cands.json

For every non-abstention question, one hybrid ``search`` over the instance's
cube with a wide ``top_k``; each hit keeps its session id, role, fused score
and per-retriever rank/score. ``lme_session_bm25.py --cands`` re-aggregates
them into session rankings offline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from memosys import MemOS
from memosys.eval.longmemeval import load_longmemeval
from memosys.eval.runner.harness import EVAL_USER


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--top-k", type=int, default=300)
    args = parser.parse_args()
    rows = {}
    with MemOS.open(args.data_dir) as mos:
        for inst in load_longmemeval(args.data):
            hits = mos.search(inst.question, user_id=EVAL_USER, cube=f"lme-{inst.question_id}",
                              top_k=args.top_k)
            rows[inst.question_id] = [
                {"session": h.item.session_id, "role": h.item.role, "fused": h.score,
                 **{m.retriever: [m.rank, m.score] for m in h.explain.retrievers}}
                for h in hits
            ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows), encoding="utf-8")


if __name__ == "__main__":
    main()
