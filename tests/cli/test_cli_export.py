"""export: never into the data directory, never over a file without --force, whole or not
at all, and a path it cannot write is a one-line error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.cli.conftest import Memosys


@pytest.mark.parametrize("name", ["memosys.db", "settings.json", "new.jsonl"])
def test_export_into_the_data_directory_is_refused(memosys: Memosys, name: str) -> None:
    memosys.ok("add", "--text", "Ana lives in Porto")
    before = {p.name: p.read_bytes() for p in memosys.data.iterdir() if p.is_file()}
    result = memosys.run("export", str(memosys.data / name))
    assert result.exit_code == 2
    assert "inside the data directory" in result.stderr
    assert "export to a path outside it" in result.stderr
    after = {p.name: p.read_bytes() for p in memosys.data.iterdir() if p.is_file()}
    assert after.keys() == before.keys()
    assert after["settings.json"] == before["settings.json"]
    assert len(after["memosys.db"]) > 0
    assert [hit["item"]["content"] for hit in memosys.json("search", "Porto")] == [
        "Ana lives in Porto"
    ]


def test_export_keeps_an_existing_file_unless_forced(memosys: Memosys, tmp_path: Path) -> None:
    memosys.ok("add", "--text", "first note")
    out = tmp_path / "out.jsonl"
    out.write_text("keep me\n", encoding="utf-8")
    refused = memosys.run("export", str(out))
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: ConflictError: ")
    assert "--force" in refused.stderr
    assert out.read_text(encoding="utf-8") == "keep me\n"

    assert "exported 1 memory" in memosys.ok("export", str(out), "--force").stdout
    assert json.loads(out.read_text(encoding="utf-8"))["content"] == "first note"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out.jsonl"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nodir/out.jsonl", "cannot write export file nodir/out.jsonl: No such file"),
        ("", "is a folder; give a file path"),
        ("/proc/version", "already exists"),
    ],
)
def test_unwritable_export_path_is_a_one_line_error(
    memosys: Memosys, target: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    memosys.ok("add", "--text", "first note")
    result = memosys.run("export", target)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_forced_export_to_an_unwritable_file_is_a_one_line_error(memosys: Memosys) -> None:
    memosys.ok("add", "--text", "first note")
    result = memosys.run("export", "/proc/version", "--force")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: InvalidInputError: cannot write export file")
    assert result.stderr.count("\n") == 1
