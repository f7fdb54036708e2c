"""Aggregation of per-question results into scores."""

from __future__ import annotations

import pytest

from memosys.core.errors import InvalidInputError
from memosys.eval.report import summarise
from memosys.eval.runner.harness import QueryResult


def _result(group: str, gold: list[str], hybrid: list[str]) -> QueryResult:
    return QueryResult(qid=f"{group}-{gold}", group=group, question="q", gold=gold,
                       ranked={"hybrid": hybrid})


def test_summarise_averages_per_group_and_overall_without_excluded_group() -> None:
    results = [
        _result("1 multi-hop", ["a", "b"], ["a", "b"]),
        _result("1 multi-hop", ["a", "b"], ["a", "x"]),
        _result("4 single-hop", ["c"], ["x", "c"]),
        _result("5 adversarial", ["z"], ["z"]),
    ]
    summary = summarise(
        results, [("recall_any", 1), ("recall_all", 2)], ["hybrid"],
        exclude_from_overall=["5 adversarial"],
    )["hybrid"]
    assert summary["groups"]["1 multi-hop"] == {"n": 2, "recall_any@1": 1.0, "recall_all@2": 0.5}
    assert summary["groups"]["5 adversarial"]["n"] == 1
    assert summary["overall"]["n"] == 3
    assert summary["overall"]["recall_any@1"] == pytest.approx(2 / 3)
    assert summary["overall"]["recall_all@2"] == pytest.approx(2 / 3)


def test_summarise_rejects_unknown_metric() -> None:
    with pytest.raises(InvalidInputError, match="unknown metric"):
        summarise([], [("precision", 5)], ["hybrid"])
