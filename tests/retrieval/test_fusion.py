"""Rank fusion arithmetic."""

from __future__ import annotations

import pytest

from memosys.retrieval.fusion import rrf, weighted
from memosys.stores.base import ScoredId


def ids(*pairs: tuple[str, float]) -> list[ScoredId]:
    return [ScoredId(i, s) for i, s in pairs]


LISTS = {
    "bm25": ids(("a", 9.0), ("b", 5.0), ("c", 1.0)),
    "dense": ids(("c", 0.9), ("a", 0.8), ("d", 0.1)),
}


def test_rrf_sums_reciprocal_ranks_and_keeps_matches() -> None:
    fused = rrf(LISTS, k=60)
    scores = {f.id: f.score for f in fused}
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["d"] == pytest.approx(1 / 63)
    assert [f.id for f in fused][:2] == ["a", "c"]
    a = next(f for f in fused if f.id == "a")
    assert [(m.retriever, m.rank, m.score) for m in a.matches] == [
        ("bm25", 1, 9.0),
        ("dense", 2, 0.8),
    ]


def test_rrf_weights_scale_each_retriever() -> None:
    fused = rrf(LISTS, k=60, weights={"bm25": 0.0, "dense": 1.0})
    assert fused[0].id == "c"


def test_weighted_fusion_normalises_scores_per_retriever() -> None:
    fused = weighted(LISTS, {"bm25": 0.5, "dense": 0.5})
    scores = {f.id: f.score for f in fused}
    assert scores["a"] == pytest.approx(0.5 * 1.0 + 0.5 * (0.8 - 0.1) / 0.8)
    assert scores["d"] == pytest.approx(0.0)
    assert fused[0].id == "a"


def test_empty_lists_fuse_to_nothing() -> None:
    assert rrf({"bm25": [], "dense": []}) == []
    assert weighted({"bm25": []}, {"bm25": 1.0}) == []
