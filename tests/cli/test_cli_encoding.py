"""Command-line bytes that are not UTF-8 (surrogate escapes in Python's argv)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.cli.conftest import Memosys

LATIN1 = os.fsdecode(b"caf\xe9")  # what Python makes of $'caf\xe9' on the command line


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        (("search", LATIN1), "'QUERY'"),
        (("add", "--text", "hi", "--tags", LATIN1), "'--tags'"),
        (("add", "--text", LATIN1), "'--text'"),
        (("search", "x", "--filter", '{"kind": "' + LATIN1 + '"}'), "'--filter'"),
        (("list", "--filter", '{"tags": "' + LATIN1 + '"}'), "'--filter'"),
    ],
)
def test_argument_that_is_not_utf8_is_refused(
    memosys: Memosys, args: tuple[str, ...], argument: str
) -> None:
    memosys.ok("add", "--text", "a note")
    result = memosys.run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: EncodingError: argument {argument} is not valid UTF-8")
    assert result.stderr.count("\n") == 1
    assert len(memosys.json("list")) == 1


def test_add_doc_reads_a_file_whose_name_is_not_utf8(memosys: Memosys, tmp_path: Path) -> None:
    doc = tmp_path / os.fsdecode(b"hb\xe9.md")
    doc.write_text("# Bins\n\nGlass goes in the green bin.\n", encoding="utf-8")
    chunks = memosys.json("add-doc", str(doc))
    assert chunks
    assert {chunk["source_ref"] for chunk in chunks} == {str(tmp_path / "hb\ufffd.md")}
    hits = memosys.json("search", "green bin")
    assert hits[0]["item"]["source_ref"].endswith("hb\ufffd.md")
