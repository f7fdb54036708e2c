"""Raw-mode document reader: a file or a text becomes CHUNK memories, no LLM.

Formats by file suffix: ``.md``/``.markdown``, ``.rst``, ``.html``/``.htm``,
``.json``/``.jsonl`` (texts, see :func:`parse_json`) and plain text for
anything else that is UTF-8. A text passed as ``text=`` is read as Markdown
unless its name has one of those suffixes.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from memosys.core.clock import Clock
from memosys.core.errors import (
    EmptyInputError,
    EncodingError,
    InputTooLargeError,
    InvalidInputError,
)
from memosys.core.ids import new_id
from memosys.core.items import MemoryItem, MemoryKind, SourceType, content_hash
from memosys.reader.blocks import Block, paragraphs
from memosys.reader.chunking import Chunk, chunk_blocks
from memosys.reader.enrich import analyse
from memosys.reader.entities import name_evidence
from memosys.reader.htmltext import parse_html
from memosys.reader.markdown import parse_markdown
from memosys.reader.rst import parse_rst
from memosys.reader.validate import check_metadata, check_tags, check_text
from memosys.settings import ReaderSettings

_TEXT_KEYS = ("text", "content", "body")
_TITLE_KEYS = ("title", "name", "heading")
_BINARY = frozenset({".pdf", ".doc", ".docx", ".odt", ".rtf", ".epub", ".xls", ".xlsx", ".pptx"})


def _record(record: Any, where: str) -> list[Block]:
    if isinstance(record, str):
        return [Block("heading", ""), *paragraphs(record)]
    if isinstance(record, dict):
        text = next((record[k] for k in _TEXT_KEYS if isinstance(record.get(k), str)), None)
        if text is not None:
            title = next((record[k] for k in _TITLE_KEYS if isinstance(record.get(k), str)), "")
            headings = (title,) if title else ()
            return [Block("heading", title, headings), *paragraphs(text, headings)]
    raise InvalidInputError(
        f"{where} must be a string or an object with a 'text' (or 'content', 'body') string",
        detail={"field": where},
    )


def parse_json(text: str, lines: bool) -> list[Block]:
    """Blocks of a JSON document: a text, a record, or a list of them (JSON Lines: one a line).

    A record is an object with a ``text``/``content``/``body`` string and an
    optional ``title``/``name``/``heading``; each record starts a section.
    """
    try:
        if lines:
            # lines end at "\n" only: a JSON string may hold U+2028 or NEL raw
            records = [json.loads(line) for line in text.split("\n") if line.strip()]
        else:
            loaded = json.loads(text)
            records = loaded if isinstance(loaded, list) else [loaded]
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"document is not valid JSON ({exc.msg}, line {exc.lineno}); "
            "fix it or read it as plain text",
        ) from None
    return [block for i, record in enumerate(records) for block in _record(record, f"record {i}")]


_PARSERS: dict[str, Callable[[str], list[Block]]] = {
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".rst": parse_rst,
    ".html": parse_html,
    ".htm": parse_html,
    ".json": lambda text: parse_json(text, lines=False),
    ".jsonl": lambda text: parse_json(text, lines=True),
    ".txt": paragraphs,
}


def _printable(source: str | Path) -> str:
    """``source`` as storable text: bytes of a file name that the file system's encoding
    cannot decode (kept as surrogate escapes in a path) become U+FFFD."""
    return os.fsencode(source).decode(sys.getfilesystemencoding(), "replace")


def _check_not_binary(name: Path, body: str | None) -> None:
    """Refuse a binary format, by its suffix or (``body``) by NUL characters."""
    if name.suffix.lower() in _BINARY or (body is not None and "\x00" in body):
        kind = f"a {name.suffix} file" if name.suffix else "binary data"
        raise InvalidInputError(
            f"{name} is {kind}, which the raw reader cannot parse; "
            "convert it to text or Markdown first",
            detail={"path": str(name)},
        )


def _load(path: Path, settings: ReaderSettings) -> str:
    try:
        if not path.is_file():
            raise InvalidInputError(
                f"document {path} does not exist or is not a file; "
                "check the path, or pass the content with text=",
                detail={"path": str(path)},
            )
        if path.stat().st_size > 4 * settings.max_document_chars:
            raise InputTooLargeError(
                f"{path} is over the limit of {settings.max_document_chars} characters; "
                "split it into smaller files",
                detail={"path": str(path), "limit": settings.max_document_chars},
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read document {path}: {exc.strerror}; check its permissions",
            detail={"path": str(path)},
        ) from None
    if b"\x00" in data[:8192]:
        raise EncodingError(
            f"document {path} holds NUL bytes, so it is binary or UTF-16, not UTF-8 text; "
            "convert it to UTF-8 text first",
            detail={"path": str(path)},
        )
    return check_text(data, f"document {path}")


def _build(
    chunk: Chunk,
    index: int,
    *,
    source_ref: str,
    user_id: str,
    cube_id: str,
    metadata: dict[str, Any],
    tags: list[str],
    names: set[str],
    now: datetime,
    repeat: int,
) -> MemoryItem:
    found = analyse(chunk.text, None, names)
    # a later chunk with the same words as an earlier one of the document (two records
    # "Yes.") is a chunk of its own, not an exact repeat of the stored one
    again = [f"repeat {repeat}"] if repeat else []
    return MemoryItem(
        id=new_id(),
        cube_id=cube_id,
        user_id=user_id,
        owner=user_id,
        kind=MemoryKind.CHUNK,
        source_type=SourceType.DOCUMENT,
        content=chunk.text,
        content_hash=content_hash(MemoryKind.CHUNK.value, source_ref, chunk.text, *again),
        created_at=now,
        updated_at=now,
        source_ref=source_ref,
        position=index,
        headings=list(chunk.headings),
        tags=list(tags),
        keywords=found.keywords,
        entities=found.entities,
        time_refs=found.time_refs,
        metadata=copy.deepcopy(metadata),
    )


def read_document(
    source: str | Path,
    *,
    text: str | bytes | None = None,
    user_id: str,
    cube_id: str,
    title: str | None = None,
    metadata: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    settings: ReaderSettings,
    clock: Clock,
) -> list[MemoryItem]:
    """Split a document into CHUNK items, validating everything first.

    ``source`` is a file path, or, when ``text`` is given, the name of that
    text. ``source_ref`` of each item is ``title`` if given, else ``source``;
    ``position`` is the chunk index and ``headings`` its heading path. Only
    self-contained dates are resolved in documents, since they have no
    reference time.
    """
    if not isinstance(source, str | Path) or not str(source).strip():
        raise InvalidInputError(
            "source must be a file path, or a name for the text given with text=",
            detail={"field": "source"},
        )
    base_metadata = check_metadata(metadata, "metadata")
    tag_list = check_tags(tags)
    if title is not None and not isinstance(title, str):
        raise InvalidInputError("title must be a string", detail={"field": "title"})
    name = Path(source)
    _check_not_binary(name, None)
    if text is None:
        body = _load(name, settings)
    elif isinstance(text, str | bytes):
        body = check_text(text, "text")
    else:
        raise InvalidInputError("text must be a string", detail={"field": "text"})
    _check_not_binary(name, body)
    if len(body) > settings.max_document_chars:
        raise InputTooLargeError(
            f"document {source} has {len(body)} characters, over the limit of "
            f"{settings.max_document_chars}; split it into smaller documents",
            detail={"limit": settings.max_document_chars},
        )
    if not body.strip():
        raise EmptyInputError(f"document {source} is empty; nothing to store")
    default = paragraphs if text is None else parse_markdown
    parse = _PARSERS.get(name.suffix.lower(), default)
    blocks = parse(body.lstrip("\ufeff"))
    chunks = chunk_blocks(blocks, settings.chunk_chars, settings.chunk_overlap)
    if not chunks:
        raise EmptyInputError(f"document {source} has no text content; nothing to store")
    now = clock.now()
    source_ref = title or _printable(source)
    names = set[str]().union(*(name_evidence(chunk.text) for chunk in chunks))
    seen: dict[str, int] = {}
    repeats = []
    for chunk in chunks:
        repeats.append(seen.setdefault(chunk.text, 0))
        seen[chunk.text] += 1
    return [
        _build(
            chunk,
            index,
            source_ref=source_ref,
            user_id=user_id,
            cube_id=cube_id,
            metadata=base_metadata,
            tags=tag_list,
            names=names,
            now=now,
            repeat=repeat,
        )
        for index, (chunk, repeat) in enumerate(zip(chunks, repeats, strict=True))
    ]
