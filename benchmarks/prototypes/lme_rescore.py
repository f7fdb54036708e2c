"""Re-score a stored LongMemEval eval store with the context re-ranker on or off, no re-ingest.

    .venv/bin/python benchmarks/prototypes/lme_rescore.py /tmp/memosys-eval/lme \
        --out benchmarks/results/longmemeval_dev_rerank.json

The store is the ``--data-dir`` of an earlier ``memosys eval longmemeval`` run
(ingest of the dev slice takes ~45 minutes on a loaded 2-core machine); this
runs only the session ranking, once per re-ranker setting.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from memosys import MemOS
from memosys.eval.longmemeval import load_longmemeval
from memosys.eval.metrics import recall_all
from memosys.eval.runner.harness import EVAL_USER
from memosys.settings import load_settings

DATA = "/work/shared/data/longmemeval/longmemeval_s_dev60.json"


def score(data_dir: Path, rerank: str) -> dict[str, object]:
    settings = load_settings(data_dir / "settings.json")
    settings.retrieval.rerank = rerank  # type: ignore[assignment]
    groups: dict[str, list[float]] = {}
    at5, at10 = [], []
    started = time.time()
    with MemOS.open(data_dir, settings=settings) as mos:
        for inst in load_longmemeval(DATA):
            hits = mos.search_sessions(
                inst.question, user_id=EVAL_USER, cube=f"lme-{inst.question_id}", top_k=10
            )
            ranked = [h.session_id for h in hits]
            at5.append(recall_all(ranked, inst.answer_session_ids, 5))
            at10.append(recall_all(ranked, inst.answer_session_ids, 10))
            groups.setdefault(inst.question_type, []).append(at5[-1])
    return {
        "recall_all@5": sum(at5) / len(at5),
        "recall_all@10": sum(at10) / len(at10),
        "recall_all@5_by_type": {g: sum(v) / len(v) for g, v in groups.items()},
        "seconds": round(time.time() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report = {
        "command": " ".join(["python", *sys.argv]),
        "rerank_none": score(args.data_dir, "none"),
        "rerank_context": score(args.data_dir, "context"),
    }
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
