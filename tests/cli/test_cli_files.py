"""Input files of add and import: a UTF-8 byte-order mark, an empty file, a second import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.cli.conftest import Memosys

BOM = "\ufeff"


def test_add_reads_a_messages_file_with_a_byte_order_mark(
    memosys: Memosys, tmp_path: Path
) -> None:
    messages = tmp_path / "messages.json"
    messages.write_text(BOM + json.dumps([{"role": "user", "content": "I live in Porto"}]),
                        encoding="utf-8")
    (added,) = memosys.json("add", str(messages))
    assert added["content"] == "I live in Porto"
    (again,) = memosys.json("add", "--session", "s2", input=BOM + messages.read_text()[1:])
    assert again["session_id"] == "s2"


def test_import_reads_a_file_with_a_byte_order_mark(memosys: Memosys, tmp_path: Path) -> None:
    lines = tmp_path / "notes.jsonl"
    lines.write_text(BOM + '{"content": "first note"}\n{"content": "second note"}\n',
                     encoding="utf-8")
    assert "imported 2 memories" in memosys.ok("import", str(lines)).stdout
    assert sorted(item["content"] for item in memosys.json("list")) == [
        "first note", "second note"
    ]


def test_import_of_an_empty_file_is_refused(memosys: Memosys, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    result = memosys.run("import", str(empty))
    assert result.exit_code == 2
    assert "error: EmptyInputError: " in result.stderr
    assert "holds no memories" in result.stderr


def test_a_second_import_says_nothing_new_was_added(memosys: Memosys, tmp_path: Path) -> None:
    lines = tmp_path / "notes.jsonl"
    lines.write_text('{"content": "first note"}\n{"content": "second note"}\n', encoding="utf-8")
    assert memosys.ok("import", str(lines)).stdout.startswith("imported 2 memories from")
    again = memosys.ok("import", str(lines)).stdout
    assert again.startswith("imported 0 memories from")
    assert "2 already stored, not added again" in again
    assert len(memosys.json("list")) == 2
