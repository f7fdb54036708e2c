"""Learn the context re-ranker's weights on the LoCoMo dev split.

    .venv/bin/python benchmarks/train_reranker.py --data ../shared/data/locomo/locomo_dev.json \
        --out benchmarks/results/reranker_training.json \
        --weights src/memosys/retrieval/rerank_weights.json

Ingests every conversation as ``memosys eval locomo`` does, builds for each
category 1-4 question the exact candidate set and features that search uses
(``Retriever.fused`` -> ``Retriever.candidates`` -> ``feature_matrix``), labels
a candidate 1 when its turn is evidence, and fits logistic regression (full-
batch gradient descent, L2, positives up-weighted). It reports turn-level
recall_any@10 / recall_all@10 leave-one-conversation-out (each conversation
scored by weights fitted on the others) next to the plain fused order, then
fits on all conversations and writes the weights that memosys ships.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from memosys import MemOS
from memosys.core.clock import SystemClock
from memosys.eval.locomo import load_locomo
from memosys.eval.metrics import recall_all, recall_any
from memosys.eval.runner.harness import EVAL_USER, ingest
from memosys.eval.runner.measure import Timings
from memosys.retrieval.rerank import FEATURES, LinearReranker, feature_matrix
from memosys.retrieval.search import Retriever, visible_filter
from memosys.stores.base import Scope

K = 10


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 2000) -> LinearReranker:
    """Logistic regression on standardised features."""
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / scale
    w, b = np.zeros(x.shape[1]), 0.0
    pos = max(float(y.sum()), 1.0)
    weight = np.where(y > 0, len(y) / (2 * pos), len(y) / (2 * (len(y) - pos)))
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        g = (p - y) * weight
        w -= z.T @ g / len(y) + l2 * w
        b -= float(g.mean())
    return LinearReranker(mean, scale, w, b)


def collect(data: Path) -> list[dict]:
    """Per question: conversation, gold turn ids, candidate turn ids, fused order, features."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp, MemOS.open(tmp) as mos:
        retriever = Retriever(mos.store, mos.embedder, mos.settings.retrieval, SystemClock())
        pool = mos.settings.retrieval.rerank_pool
        for conv in load_locomo(data):
            cube = f"locomo-{conv.sample_id}"
            ingest(mos, cube, conv.sessions, Timings())
            scope = Scope(EVAL_USER, (mos.cube(cube, user_id=EVAL_USER).id,))
            for q in conv.questions:
                if q.category == 5 or not q.evidence:
                    continue
                fused = retriever.fused(scope, q.question, None, "hybrid")
                cands = retriever.candidates(scope, fused[:pool], visible_filter(None))
                # candidates are views (no metadata): the whole items name the turns
                items = {i.id: i for i in mos.store.get_items(scope, [c.item.id for c in cands])}
                ids = [str(items[c.item.id].metadata.get("dia_id")) for c in cands]
                rows.append({
                    "conv": conv.sample_id, "gold": q.evidence, "ids": ids,
                    "fused": [ids[i] for i, c in enumerate(cands) if c.fused is not None],
                    "x": feature_matrix(q.question, cands),
                })
            print(f"{conv.sample_id}: {len(rows)} questions so far", file=sys.stderr)
    return rows


def recall(rows: list[dict], order: list[list[str]]) -> dict[str, float]:
    any_ = [recall_any(o, r["gold"], K) for r, o in zip(rows, order, strict=True)]
    all_ = [recall_all(o, r["gold"], K) for r, o in zip(rows, order, strict=True)]
    return {f"recall_any@{K}": float(np.mean(any_)), f"recall_all@{K}": float(np.mean(all_))}


def ranked(model: LinearReranker, row: dict) -> list[str]:
    return [row["ids"][i] for i in np.argsort(-model.logits(row["x"]), kind="stable")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--weights", type=Path, required=True)
    args = parser.parse_args()
    started = time.time()
    rows = collect(args.data)
    labels = [np.asarray([float(i in set(r["gold"])) for i in r["ids"]]) for r in rows]
    held: list[list[str]] = [[] for _ in rows]
    for conv in sorted({r["conv"] for r in rows}):
        train = [i for i, r in enumerate(rows) if r["conv"] != conv]
        model = fit(
            np.vstack([rows[i]["x"] for i in train]), np.concatenate([labels[i] for i in train])
        )
        for i, r in enumerate(rows):
            if r["conv"] == conv:
                held[i] = ranked(model, r)
    final = fit(np.vstack([r["x"] for r in rows]), np.concatenate(labels))
    args.weights.write_text(json.dumps(final.to_dict(), indent=1) + "\n", encoding="utf-8")
    report = {
        "command": " ".join(["python", *sys.argv]),
        "questions": len(rows),
        "fused_order": recall(rows, [r["fused"] for r in rows]),
        "reranked_leave_one_conversation_out": recall(rows, held),
        "reranked_fit_on_all": recall(rows, [ranked(final, r) for r in rows]),
        "weights": dict(zip(FEATURES, np.round(final.weights, 3).tolist(), strict=True)),
        "seconds": round(time.time() - started, 1),
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
