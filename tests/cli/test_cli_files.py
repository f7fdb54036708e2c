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
