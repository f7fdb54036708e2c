"""Ranking metrics on hand-made rankings."""

from __future__ import annotations

import math

import pytest

from memosys.core.errors import InvalidInputError
from memosys.eval.metrics import (
    ndcg_any,
    percentile,
    recall_all,
    recall_any,
    recall_fraction,
)

RANKED = ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(
    ("gold", "k", "any_", "all_"),
    [
        ({"a"}, 1, 1.0, 1.0),
        ({"b"}, 1, 0.0, 0.0),
        ({"b", "d"}, 2, 1.0, 0.0),
        ({"b", "d"}, 4, 1.0, 1.0),
        ({"x"}, 5, 0.0, 0.0),
        ({"e", "x"}, 5, 1.0, 0.0),
        (set(), 5, 0.0, 0.0),
    ],
)
def test_recall_any_and_all_count_hits_in_top_k(
    gold: set[str], k: int, any_: float, all_: float
) -> None:
    assert recall_any(RANKED, gold, k) == any_
    assert recall_all(RANKED, gold, k) == all_


def test_recall_counts_a_repeated_id_once_so_k_means_distinct_ids() -> None:
    ranked = ["a", "a", "a", "b"]
    assert recall_all(ranked, {"a", "b"}, 2) == 1.0


def test_recall_fraction_is_share_of_gold_found() -> None:
    assert recall_fraction(RANKED, {"b", "x", "y", "e"}, 5) == 0.5


def test_ndcg_is_one_when_relevant_items_lead() -> None:
    assert ndcg_any(["a", "b", "c"], {"a", "b"}, 3) == 1.0


def test_ndcg_uses_undiscounted_first_rank_and_log2_rank_after() -> None:
    # DCG = rel_1 + sum_{i>=2} rel_i / log2(i); relevant at ranks 2 and 3.
    dcg = 1 / math.log2(2) + 1 / math.log2(3)
    ideal = 1 + 1 / math.log2(2)
    assert ndcg_any(["x", "a", "b"], {"a", "b"}, 3) == pytest.approx(dcg / ideal)


def test_ndcg_ideal_counts_relevant_items_missing_from_the_ranking() -> None:
    # Three relevant ids, one found at rank 1: ideal places all three first.
    ideal = 1 + 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_any(["a", "x", "y"], {"a", "b", "c"}, 3) == pytest.approx(1 / ideal)


def test_ndcg_ideal_is_capped_at_k() -> None:
    assert ndcg_any(["a", "b"], {"a", "b", "c", "d"}, 2) == 1.0


def test_ndcg_is_zero_without_relevant_items() -> None:
    assert ndcg_any(["a"], set(), 5) == 0.0
    assert ndcg_any(["a"], {"z"}, 5) == 0.0


def test_k_below_one_is_rejected() -> None:
    with pytest.raises(InvalidInputError):
        recall_any(RANKED, {"a"}, 0)


def test_percentile_interpolates_linearly() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 95) == 5.0
    assert percentile([], 50) == 0.0
    assert percentile(list(map(float, range(101))), 95) == 95.0
