"""``make demo``: the demo ingests the bundled sample offline and prints search tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memosys import demo
from memosys.core.errors import ConfigurationError


def test_sample_data_is_shipped_and_well_formed() -> None:
    conversation = json.loads(demo.sample_file("conversation.json").read_text("utf-8"))
    sessions = conversation["sessions"]
    assert 3 <= len(sessions) <= 4
    assert 30 <= sum(len(s["messages"]) for s in sessions) <= 50
    assert len({s["date"][:10] for s in sessions}) == len(sessions)
    handbook = demo.sample_file("handbook.md").read_text("utf-8")
    assert handbook.startswith("# ") and handbook.count("\n## ") >= 4


def test_demo_main_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--data", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "add 48 messages in 4 sessions" in out
    for search in demo.SEARCHES:
        assert search.title in out
    assert "score" in out and "why" in out
    assert "neighbour of #" in out


def test_demo_wipes_the_directory_it_made(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    demo.prepare_directory(data)
    (data / "memosys.db").write_text("an earlier demo", encoding="utf-8")
    demo.prepare_directory(data)
    assert sorted(p.name for p in data.iterdir()) == [demo.MARKER]


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ConfigurationError):
        demo.prepare_directory(tmp_path)
    assert (tmp_path / "mine.txt").exists()
