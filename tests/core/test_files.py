"""replacing: a file is written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from memosys.core.files import replace_text, replacing


def test_a_failed_write_leaves_the_old_file_and_no_partial(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), replacing(target) as out:
        out.write("half of the new")
        raise RuntimeError("the export failed half way")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_a_finished_write_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n", encoding="utf-8")
    with replacing(target) as out:
        out.write("new\n")
    replace_text(tmp_path / "other.txt", "text")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.txt", "out.jsonl"]
