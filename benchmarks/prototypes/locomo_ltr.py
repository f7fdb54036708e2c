"""A learned re-ranker for LoCoMo candidates: logistic regression on a few features (prototype).

    .venv/bin/python benchmarks/prototypes/locomo_ltr.py /tmp/memosys-bench/locomo_cands.json \
        /work/shared/data/locomo/locomo_dev.json

Features of a candidate turn (and of its two neighbours, which join the pool):
reciprocal BM25 and dense ranks, BM25 score relative to the best, dense cosine,
the same for the turns just before and after it, whether its speaker is named
in the question, whether its session is within a week of a date the question
names, and the summed BM25 evidence of its session. Trained and scored
leave-one-conversation-out (numpy gradient descent, L2), so every figure is
on a conversation the model did not see.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import numpy.typing as npt
from locomo_rerank import _split, load

from memosys.eval.metrics import recall_all, recall_any

Matrix = npt.NDArray[np.float64]


def _own(c: dict[str, Any] | None, top_bm25: float) -> list[float]:
    if c is None:
        return [0.0, 0.0, 0.0, 0.0]
    b, d = c.get("bm25"), c.get("dense")
    return [
        1.0 / (60 + b[0]) * 60 if b else 0.0,
        1.0 / (60 + d[0]) * 60 if d else 0.0,
        b[1] / top_bm25 if b and top_bm25 else 0.0,
        d[1] if d else 0.0,
    ]


def features(row: dict[str, Any]) -> tuple[list[str], Matrix]:
    """Candidate ids (pool plus neighbours) and their feature matrix."""
    pool = {c["id"]: c for c in row["cands"]}
    top_bm25 = max((c["bm25"][1] for c in row["cands"] if "bm25" in c), default=1.0)
    ids = set(pool)
    for dia in list(pool):
        s, t = _split(dia)
        ids.update({f"D{s}:{t - 1}", f"D{s}:{t + 1}"})
    session_mass: dict[int, float] = {}
    for dia, c in pool.items():
        if "bm25" in c:
            s = _split(dia)[0]
            session_mass[s] = session_mass.get(s, 0.0) + c["bm25"][1] / top_bm25
    order = sorted(ids)
    rows = []
    for dia in order:
        s, t = _split(dia)
        rows.append([
            *_own(pool.get(dia), top_bm25),
            *_own(pool.get(f"D{s}:{t - 1}"), top_bm25),
            *_own(pool.get(f"D{s}:{t + 1}"), top_bm25),
            float(row["speakers"].get(dia) in row["named"]),
            float(s in row["dated"]),
            float(bool(row["dated"])),
            session_mass.get(s, 0.0),
            1.0,
        ])
    return order, np.asarray(rows, dtype=np.float64)


def train(x: Matrix, y: Matrix, l2: float = 1e-3, steps: int = 1500, lr: float = 1.0) -> Matrix:
    """Logistic regression weights by full-batch gradient descent (positives up-weighted)."""
    w = np.zeros(x.shape[1])
    pos = max(float(y.sum()), 1.0)
    weight = np.where(y > 0, len(y) / (2 * pos), len(y) / (2 * (len(y) - pos)))
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ ((p - y) * weight) / len(y) + l2 * w
        w -= lr * grad
    return w


NAMES = [f"{who}.{f}" for who in ("self", "prev", "next")
         for f in ("rrank_bm25", "rrank_dense", "bm25_rel", "cosine")]
NAMES += ["speaker_named", "session_dated", "question_dated", "session_bm25_mass", "bias"]
ABLATIONS = {
    "all features": [],
    "no neighbour features": [n for n in NAMES if n.startswith(("prev.", "next."))],
    "no speaker/date features": ["speaker_named", "session_dated", "question_dated"],
    "no session mass": ["session_bm25_mass"],
}


def main() -> None:
    rows = load(sys.argv[1], sys.argv[2])
    full = [features(r) for r in rows]
    for label, dropped in ABLATIONS.items():
        keep = [i for i, n in enumerate(NAMES) if n not in dropped]
        print(f"== {label}")
        evaluate(rows, [(ids, x[:, keep]) for ids, x in full], [NAMES[i] for i in keep])


def evaluate(rows: list[dict[str, Any]], built: list[tuple[list[str], Matrix]],
             names: list[str]) -> None:
    """Leave-one-conversation-out recall@10 of the learned ranker; weights of the full fit."""
    labels = [np.asarray([float(i in set(r["gold"])) for i in ids]) for r, (ids, _) in
              zip(rows, built, strict=True)]
    convs = sorted({r["qid"].split("/")[0] for r in rows})
    held: list[tuple[float, float]] = []
    for conv in convs:
        test = [i for i, r in enumerate(rows) if r["qid"].startswith(conv + "/")]
        train_ix = [i for i in range(len(rows)) if i not in set(test)]
        x = np.vstack([built[i][1] for i in train_ix])
        mean, std = x.mean(0), x.std(0) + 1e-9
        mean[-1], std[-1] = 0.0, 1.0
        w = train((x - mean) / std, np.concatenate([labels[i] for i in train_ix]))
        fold = []
        for i in test:
            ids, feats = built[i]
            ranked = [ids[j] for j in np.argsort(-(((feats - mean) / std) @ w))]
            fold.append((recall_any(ranked, rows[i]["gold"], 10),
                         recall_all(ranked, rows[i]["gold"], 10)))
        held.extend(fold)
        print(f"LTR held-out {conv}: any@10={np.mean([f[0] for f in fold]):.3f} "
              f"all@10={np.mean([f[1] for f in fold]):.3f} (n={len(fold)})")
    print(f"LTR leave-one-conversation-out overall: any@10={np.mean([h[0] for h in held]):.3f} "
          f"all@10={np.mean([h[1] for h in held]):.3f} (n={len(held)})")
    x = np.vstack([b[1] for b in built])
    mean, std = x.mean(0), x.std(0) + 1e-9
    mean[-1], std[-1] = 0.0, 1.0
    w = train((x - mean) / std, np.concatenate(labels))
    print("weights (standardised features, fit on all five):",
          ", ".join(f"{n}={v:+.2f}" for n, v in zip(names, w, strict=True)))


if __name__ == "__main__":
    main()
