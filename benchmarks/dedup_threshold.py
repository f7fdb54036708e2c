"""Tune the dedup threshold on labelled pairs and report precision and recall.

The pairs (``benchmarks/data/dedup_pairs.jsonl``, hand-written) are, per
group of one base statement: a paraphrase and a restatement (duplicates), a
near miss with one changed number, name, negation or swapped detail, and an
unrelated statement (not duplicates). Each threshold is scored with the
bundled MiniLM embedder and with :func:`memosys.lifecycle.merge.is_duplicate`
(cosine plus the numbers/names/negation check) as well as cosine alone. The
chosen threshold maximises F1 over all pairs (ties: the higher threshold);
a 2-fold split by group shows how it holds on pairs it was not tuned on.

    .venv/bin/python benchmarks/dedup_threshold.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from _common import write_result

from memosys.lifecycle.merge import is_duplicate, same_details
from memosys.models.embedders.factory import build_embedder
from memosys.settings import MiniLMOnnxConfig

PAIRS = Path(__file__).parent / "data" / "dedup_pairs.jsonl"
THRESHOLDS = [round(t, 2) for t in np.arange(0.60, 1.0, 0.01)]


def _scores(pairs: list[dict[str, Any]], sims: np.ndarray, t: float, guard: bool) -> dict[str, Any]:
    tp = fp = fn = 0
    for pair, sim in zip(pairs, sims, strict=True):
        said = is_duplicate(pair["a"], pair["b"], float(sim), t) if guard else sim >= t
        tp += bool(said and pair["label"])
        fp += bool(said and not pair["label"])
        fn += bool(not said and pair["label"])
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"threshold": t, "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4), "tp": tp, "fp": fp, "fn": fn}


def _best(pairs: list[dict[str, Any]], sims: np.ndarray, guard: bool) -> dict[str, Any]:
    results = [_scores(pairs, sims, t, guard) for t in THRESHOLDS]
    return max(results, key=lambda r: (r["f1"], r["threshold"]))


def _by_kind(pairs: list[dict[str, Any]], sims: np.ndarray, t: float) -> dict[str, float]:
    kinds: dict[str, list[bool]] = {}
    for pair, sim in zip(pairs, sims, strict=True):
        said = is_duplicate(pair["a"], pair["b"], float(sim), t)
        kinds.setdefault(pair["kind"], []).append(said == bool(pair["label"]))
    return {kind: round(sum(ok) / len(ok), 4) for kind, ok in sorted(kinds.items())}


def main() -> None:
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]
    embedder = build_embedder(MiniLMOnnxConfig())
    a = embedder.embed([p["a"] for p in pairs])
    b = embedder.embed([p["b"] for p in pairs])
    sims = np.einsum("ij,ij->i", a, b)
    chosen = _best(pairs, sims, guard=True)
    groups = sorted({p["group"] for p in pairs})
    folds = []
    for fold in (0, 1):
        tune = {g for i, g in enumerate(groups) if i % 2 == fold}
        train = [i for i, p in enumerate(pairs) if p["group"] in tune]
        test = [i for i, p in enumerate(pairs) if p["group"] not in tune]
        tuned = _best([pairs[i] for i in train], sims[train], guard=True)
        held = _scores([pairs[i] for i in test], sims[test], tuned["threshold"], guard=True)
        folds.append({"tuned_threshold": tuned["threshold"], "held_out": held})
    write_result("dedup_threshold", {
        "pairs": len(pairs),
        "positives": sum(p["label"] for p in pairs),
        "embedder": embedder.fingerprint,
        "chosen": chosen,
        "cosine_only_best": _best(pairs, sims, guard=False),
        "details_check_alone": {
            "accuracy_on_near_misses": round(float(np.mean(
                [not same_details(p["a"], p["b"]) for p in pairs
                 if p["kind"].startswith("near-miss")])), 4),
            "keeps_positives": round(float(np.mean(
                [same_details(p["a"], p["b"]) for p in pairs if p["label"]])), 4),
        },
        "accuracy_by_kind_at_chosen": _by_kind(pairs, sims, chosen["threshold"]),
        "two_fold_by_group": folds,
        "curve": [_scores(pairs, sims, t, guard=True) for t in THRESHOLDS[::5]],
    })


if __name__ == "__main__":
    main()
