"""Both harnesses end to end on tiny fixtures, through the real API and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from memosys.cli.eval_cmd import eval_group
from memosys.eval.locomo import (
    LocomoConversation,
    load_locomo,
    run_locomo,
    superseded_turns,
    turn_message,
)
from memosys.eval.longmemeval import load_longmemeval, run_longmemeval
from memosys.eval.runner.harness import EVAL_USER, Session
from memosys.eval.runner.measure import Timings

DATA = Path(__file__).parent / "data"


@pytest.fixture()
def mos(tmp_path: Path, embedder: Any) -> Any:
    from memosys import MemOS

    with MemOS.open(tmp_path / "store", embedder=embedder) as opened:
        yield opened


def test_locomo_run_ingests_each_session_and_ranks_every_mode(mos: Any) -> None:
    convs = load_locomo(DATA / "locomo_tiny.json")
    timings = Timings()
    results, messages = run_locomo(
        mos, convs, top_k=5, modes=["hybrid", "bm25", "dense"], timings=timings
    )
    assert messages == 6
    assert mos.count(user_id=EVAL_USER, cube="locomo-conv-t1") == 6
    stored = mos.list(user_id=EVAL_USER, cube="locomo-conv-t1")
    assert {m.session_id for m in stored} == {"session_1", "session_2"}
    assert len(results) == 5
    assert len(timings.samples["ingest"]) == 2
    puppy = next(r for r in results if "puppy" in r.question)
    for mode in ("hybrid", "bm25", "dense"):
        assert set(puppy.ranked[mode]) <= {"D1:1", "D1:2", "D1:3", "D2:1", "D2:2", "D2:3"}
    assert puppy.ranked["bm25"][0] == "D1:1"
    assert superseded_turns(mos, convs) == {}


def test_superseded_turns_name_the_turns_a_knowledge_update_hid(mos: Any) -> None:
    turns = [
        {"speaker": "Ana", "dia_id": "D1:1", "text": "I live in Paris with my cat."},
        {"speaker": "Ben", "dia_id": "D1:2", "text": "I live in Rome."},
        {"speaker": "Ana", "dia_id": "D2:1", "text": "Big news: I moved to Berlin!"},
    ]
    sessions = [Session("session_1", None, [turn_message(t) for t in turns[:2]]),
                Session("session_2", None, [turn_message(turns[2])])]
    conv = LocomoConversation("conv-u", sessions, [])
    run_locomo(mos, [conv], top_k=5, modes=["bm25"], timings=Timings())
    assert superseded_turns(mos, [conv]) == {"conv-u": ["D1:1"]}


def test_longmemeval_run_ranks_the_answer_session_first(mos: Any) -> None:
    instances = load_longmemeval(DATA / "longmemeval_tiny.json")
    results, messages = run_longmemeval(
        mos, instances, top_k=10, modes=["hybrid", "bm25"], timings=Timings()
    )
    assert messages == 9
    assert [r.qid for r in results] == ["q-single", "q-multi"]
    assert results[0].ranked["hybrid"][0] == "answer_s1"
    assert set(results[0].ranked["bm25"]) <= {"s-a", "answer_s1", "s-b"}


def test_cli_locomo_writes_report_with_provenance(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        eval_group,
        ["locomo", "--data", str(DATA / "locomo_tiny.json"), "--k", "1,5", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["command"].startswith("eval locomo --data")
    assert "--k 1,5 " in report["command"]
    assert len(report["dataset"]["sha256"]) == 64
    assert set(report["scores"]) == {"hybrid", "bm25", "dense"}
    overall = report["scores"]["hybrid"]["overall"]
    assert overall["n"] == 4  # category 5 is reported apart
    assert "5 adversarial" in report["scores"]["hybrid"]["groups"]
    assert report["timing"]["ingest"]["messages"] == 6
    assert report["timing"]["search_latency"]["hybrid"]["count"] == 5
    assert report["timing"]["peak_rss_mb"] > 0
    assert report["dropped_evidence"] == {"conv-t1": ["D9:9"]}
    assert report["superseded_turns"] == {}
    assert "recall_all@5" in result.output


def test_cli_longmemeval_reports_official_metrics(tmp_path: Path) -> None:
    out = tmp_path / "lme.json"
    result = CliRunner().invoke(
        eval_group,
        ["longmemeval", "--data", str(DATA / "longmemeval_tiny.json"), "--modes", "bm25",
         "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    overall = json.loads(out.read_text(encoding="utf-8"))["scores"]["bm25"]["overall"]
    assert overall["n"] == 2
    assert set(overall) == {
        "n", "recall_all@5", "recall_all@10", "ndcg_any@5", "ndcg_any@10",
        "recall_any@5", "recall_any@10",
    }
    assert overall["recall_all@10"] == 1.0


def test_cli_rejects_bad_ranges_with_a_usage_error() -> None:
    result = CliRunner().invoke(
        eval_group,
        ["locomo", "--data", str(DATA / "locomo_tiny.json"), "--conversations", "a-b"],
    )
    assert result.exit_code == 2
    assert "use indices and ranges" in result.output
