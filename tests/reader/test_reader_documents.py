"""read_document: formats, heading paths, chunk sizes, overlap, errors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from memosys.core.errors import (
    EmptyInputError,
    EncodingError,
    InputTooLargeError,
    InvalidInputError,
)
from memosys.core.items import MemoryItem, MemoryKind, SourceType
from memosys.reader.documents import read_document
from memosys.settings import ReaderSettings

WEDNESDAY = datetime(2023, 5, 10, 14, 0, tzinfo=UTC)

SMALL = ReaderSettings(chunk_chars=200, chunk_overlap=50)

GUIDE = """# Guide

Welcome to the guide.

## Install

Pick your platform below.

### Linux

```bash
sudo apt install memosys
memosys --version
```

- first item
- second item

### macOS

Use Homebrew on macOS.

## Usage

Run it.
"""


def read(source: str | Path, settings: ReaderSettings = SMALL, **kwargs: Any) -> list[MemoryItem]:
    from memosys.core.clock import FixedClock

    args: dict[str, Any] = {"user_id": "alice", "cube_id": "cube-1", "settings": settings,
                            "clock": FixedClock(WEDNESDAY)}
    args.update(kwargs)
    return read_document(source, **args)


def test_markdown_heading_paths_and_fields(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(GUIDE, encoding="utf-8")
    items = read(path, metadata={"project": "x"}, tags=["docs"])
    assert [i.headings for i in items] == [
        ["Guide"],
        ["Guide", "Install"],
        ["Guide", "Install", "Linux"],
        ["Guide", "Install", "macOS"],
        ["Guide", "Usage"],
    ]
    assert items[2].content == (
        "### Linux\n\n```bash\nsudo apt install memosys\nmemosys --version\n```\n\n"
        "- first item\n- second item"
    )
    assert [i.position for i in items] == list(range(5))
    for item in items:
        assert item.kind is MemoryKind.CHUNK
        assert item.source_type is SourceType.DOCUMENT
        assert item.source_ref == str(path)
        assert (item.owner, item.cube_id, item.tags) == ("alice", "cube-1", ["docs"])
        assert item.metadata == {"project": "x"}
        assert item.created_at == WEDNESDAY
        assert item.event_time is None


def _words(text: str) -> set[str]:
    return set(text.split())


def test_long_text_chunks_respect_size_overlap_and_words() -> None:
    sentences = [f"Sentence {i} mentions alpha{i} and beta{i} together." for i in range(60)]
    text = "# Notes\n\n" + " ".join(sentences)
    items = read("notes.md", text=text)
    assert len(items) > 5
    vocabulary = _words(text)
    for item in items:
        assert len(item.content) <= SMALL.chunk_chars
        assert _words(item.content) <= vocabulary, "a chunk starts or ends inside a word"
        assert item.headings == ["Notes"]
    for before, after in zip(items, items[1:], strict=False):
        overlap = after.content.split(" Sentence ")[0]
        assert 0 < len(overlap) <= SMALL.chunk_overlap
        assert before.content.endswith(overlap), "a chunk does not start with the tail before"
    body = " ".join(re.sub(r"^# Notes\n\n", "", i.content) for i in items)
    assert all(s in body for s in sentences), "text was lost between chunks"


def test_overlap_is_the_tail_of_the_previous_chunk() -> None:
    text = " ".join(f"word{i}" for i in range(400))
    items = read("plain.txt", text=text, settings=ReaderSettings(chunk_chars=120,
                                                               chunk_overlap=30))
    for before, after in zip(items, items[1:], strict=False):
        first_word = after.content.split()[0]
        tail = before.content[-30:]
        assert first_word in tail.split(), (before.content, after.content)
        assert len(after.content) <= 120


def test_zero_overlap_chunks_partition_the_text() -> None:
    text = " ".join(f"w{i}" for i in range(300))
    items = read("p.txt", text=text, settings=ReaderSettings(chunk_chars=100, chunk_overlap=0))
    assert " ".join(i.content for i in items) == text


def test_oversized_code_block_is_split_and_refenced() -> None:
    code = "\n".join(f"print({i})  # line {i}" for i in range(40))
    items = read("c.md", text=f"# Code\n\n```python\n{code}\n```\n")
    assert len(items) > 1
    for item in items:
        body = item.content.removeprefix("# Code\n\n")
        assert body.startswith("```python\n") and body.endswith("\n```")
        assert len(item.content) <= SMALL.chunk_chars


def test_a_split_code_block_keeps_its_blank_lines() -> None:
    functions = [f"def f{i}():\n    return {i}  # the value of f{i}" for i in range(12)]
    code = "\n\n\n".join(functions)
    items = read("c.md", text=f"```python\n{code}\n```\n")
    assert len(items) > 1
    bodies = [i.content.removeprefix("```python\n").removesuffix("\n```") for i in items]
    for body in bodies:  # whole functions, three lines apart, as in the source
        assert body.strip() in code
        assert "\n\n\ndef" in body or body.count("def") == 1


def test_plain_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("# not a heading\n\nFirst paragraph.\n\nSecond one.\n", encoding="utf-8")
    [item] = read(path)
    assert item.headings == []
    assert item.content == "# not a heading\n\nFirst paragraph.\n\nSecond one."


def test_html_file(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>T</title><style>p {color: red}</style></head><body>"
        "<h1>Guide</h1><p>Intro &amp; <b>more</b>\n text.</p><h2>Install</h2>"
        "<ul><li>one</li><li>two</li></ul><script>var x = 1;</script>"
        "<h2>Usage</h2><pre>run  it\n  now</pre></body></html>",
        encoding="utf-8",
    )
    items = read(path)
    assert [(i.headings, i.content) for i in items] == [
        (["Guide"], "Guide\n\nIntro & more text."),
        (["Guide", "Install"], "Install\n\n- one\n- two"),
        (["Guide", "Usage"], "Usage\n\nrun  it\n  now"),
    ]


def test_rst_file(tmp_path: Path) -> None:
    path = tmp_path / "doc.rst"
    path.write_text("=====\nGuide\n=====\n\nIntro.\n\nInstall\n-------\n\nRun::\n\n"
                    "    pip install x\n", encoding="utf-8")
    items = read(path)
    assert [i.headings for i in items] == [["Guide"], ["Guide", "Install"]]
    assert items[1].content.endswith("Run::\n\n    pip install x")


def test_json_and_jsonl_of_texts(tmp_path: Path) -> None:
    records = [{"title": "A", "text": "Alpha text."}, "Bare text.", {"content": "Gamma."}]
    path = tmp_path / "texts.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    items = read(path)
    assert [(i.headings, i.content) for i in items] == [
        (["A"], "A\n\nAlpha text."), ([], "Bare text."), ([], "Gamma."),
    ]
    lines = tmp_path / "texts.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    assert [i.content for i in read(lines)] == [i.content for i in items]


def test_jsonl_records_may_hold_line_separators() -> None:
    text = '{"text": "Step one\u2028Step two"}\r\n"Next\x85line"\n'
    items = read("steps.jsonl", text=text)
    assert [i.content for i in items] == ["Step one\nStep two", "Next\nline"]  # as line breaks


def test_bad_json_is_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        read(path)
    path.write_text(json.dumps([{"x": 1}]), encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"record 0 must be a string or an object"):
        read(path)


def test_text_source_uses_title_and_markdown() -> None:
    items = read("My notes", text="# Top\n\nBody.", title="Meeting notes")
    assert [(i.source_ref, i.headings) for i in items] == [("Meeting notes", ["Top"])]
    assert read("My notes", text="Body.")[0].source_ref == "My notes"


def test_content_hash_is_stable_per_source() -> None:
    first = read("a.md", text=GUIDE)
    again = read("a.md", text=GUIDE)
    other = read("b.md", text=GUIDE)
    assert [i.content_hash for i in first] == [i.content_hash for i in again]
    assert {i.content_hash for i in first}.isdisjoint(i.content_hash for i in other)


def test_chunks_get_absolute_dates_only() -> None:
    [item] = read("n.md", text="Released on 7 May 2023, yesterday's build was fine.")
    assert [r.text for r in item.time_refs] == ["7 May 2023"]


def test_non_utf8_file_is_an_encoding_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("café au lait".encode("latin-1"))
    with pytest.raises(EncodingError, match=r"latin1\.txt is not valid UTF-8"):
        read(path)
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"ab\x00\x01cd")
    with pytest.raises(EncodingError, match="NUL bytes"):
        read(binary)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.md"
    with pytest.raises(InvalidInputError, match=re.escape(str(missing))) as info:
        read(missing)
    assert type(info.value) is InvalidInputError
    with pytest.raises(InvalidInputError, match="not a file"):
        read(tmp_path)


def test_unsupported_binary_format(tmp_path: Path) -> None:
    path = tmp_path / "paper.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(InvalidInputError, match="convert it to text"):
        read(path)


def test_document_size_and_emptiness(tmp_path: Path) -> None:
    with pytest.raises(InputTooLargeError, match="over the limit of 100"):
        read("big.txt", text="x " * 60, settings=ReaderSettings(max_document_chars=100))
    with pytest.raises(EmptyInputError):
        read("empty.md", text="  \n\n ")
    with pytest.raises(EmptyInputError, match="no text content"):
        read("empty.html", text="<html><script>x</script></html>")
    with pytest.raises(EncodingError):
        read("bad.md", text=b"\xff\xfe")


MIXED = "\n\n".join(
    [
        "# Manual",
        " ".join(f"Intro sentence {i} explains part{i} of the system." for i in range(30)),
        "## Steps",
        "\n".join(f"- step {i}: do thing{i} carefully and check result{i}" for i in range(25)),
        "```python\n" + "\n".join(f"value_{i} = compute({i}, 'x')" for i in range(30)) + "\n```",
        "| col a | col b |\n|---|---|\n" + "\n".join(f"| a{i} | b{i} |" for i in range(20)),
        "### Deep",
        "word " * 300,
    ]
)


@pytest.mark.parametrize("size", [100, 180, 333, 1000])
@pytest.mark.parametrize("overlap", [0, 40, 150])
def test_every_chunk_fits_and_no_word_is_lost(size: int, overlap: int) -> None:
    items = read("m.md", text=MIXED,
                 settings=ReaderSettings(chunk_chars=size, chunk_overlap=overlap))
    assert all(len(i.content) <= size for i in items)
    source_words = _words(MIXED)
    chunk_words = set().union(*(_words(i.content) for i in items))
    assert chunk_words <= source_words, "a word was cut or invented"
    assert source_words <= chunk_words, "a word was lost"
    assert items[-1].headings == ["Manual", "Steps", "Deep"]
