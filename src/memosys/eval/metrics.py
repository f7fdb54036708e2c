"""Ranking metrics with binary relevance.

``ranked`` is the retrieved id list, best first; ``relevant`` is the set of
gold ids. Duplicates in ``ranked`` count once, at their first position.

nDCG follows LongMemEval's official ``src/retrieval/eval_utils.py`` exactly:

* gain is 1 for a relevant id, 0 otherwise;
* ``DCG@k = rel_1 + sum_{i=2..k} rel_i / log2(i)`` (rank 1 is not
  discounted, rank i >= 2 is divided by ``log2(i)``);
* the ideal DCG places *all* relevant ids first (computed over the relevant
  set, capped at k), so nDCG is 1.0 only when the top ``min(k, |relevant|)``
  positions are all relevant;
* an empty relevant set scores 0.0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from memosys.core.errors import InvalidInputError


def _top(ranked: Sequence[str], k: int) -> list[str]:
    if k < 1:
        raise InvalidInputError(f"k must be >= 1, got {k}")
    seen: dict[str, None] = {}
    for item in ranked:
        if item not in seen:
            seen[item] = None
            if len(seen) == k:
                break
    return list(seen)


def recall_any(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """1.0 if at least one relevant id is in the top ``k``, else 0.0."""
    gold = set(relevant)
    return float(any(item in gold for item in _top(ranked, k)))


def recall_all(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """1.0 if every relevant id is in the top ``k`` (0.0 for an empty gold set)."""
    gold = set(relevant)
    return float(bool(gold) and gold <= set(_top(ranked, k)))


def recall_fraction(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """The share of relevant ids found in the top ``k`` (0.0 for an empty gold set)."""
    gold = set(relevant)
    if not gold:
        return 0.0
    return len(gold & set(_top(ranked, k))) / len(gold)


def _dcg(gains: Sequence[float]) -> float:
    if not gains:
        return 0.0
    return gains[0] + sum(g / math.log2(i) for i, g in enumerate(gains[1:], start=2))


def ndcg_any(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """nDCG@k with binary relevance, as LongMemEval computes it (see module doc)."""
    gold = set(relevant)
    ideal = _dcg([1.0] * min(k, len(gold)))
    if ideal == 0.0:
        return 0.0
    return _dcg([1.0 if item in gold else 0.0 for item in _top(ranked, k)]) / ideal


METRICS = {
    "recall_any": recall_any,
    "recall_all": recall_all,
    "ndcg_any": ndcg_any,
}


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
