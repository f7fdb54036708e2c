"""reStructuredText to blocks: adorned section titles, literal blocks, lists, paragraphs.

Section levels follow the order in which adornment styles first appear, as
docutils does. Directives and roles are kept as text.
"""

from __future__ import annotations

import re

from memosys.reader.blocks import Block, BlockKind, HeadingPath

_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|#\.)\s+")


def _adornment(line: str) -> str | None:
    return line.strip()[0] if _ADORNMENT.match(line) else None


def parse_rst(text: str) -> list[Block]:
    """The blocks of a reStructuredText document, each with its heading path."""
    lines = text.splitlines()
    blocks: list[Block] = []
    path = HeadingPath()
    styles: list[tuple[str, bool]] = []
    buffer: list[str] = []
    i = 0

    def flush(kind: BlockKind | None = None) -> None:
        if buffer:
            guess: BlockKind = "lines" if _LIST_ITEM.match(buffer[0]) else "text"
            blocks.append(Block(kind or guess, "\n".join(buffer), path.path))
            buffer.clear()

    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        after = lines[i + 2] if i + 2 < len(lines) else ""
        over = _adornment(line)
        if over and nxt.strip() and _adornment(after) == over and not buffer:
            title, consumed, style = nxt.strip(), 3, (over, True)
        elif not buffer and line.strip() and _adornment(nxt) and len(nxt.strip()) >= len(
            line.strip()
        ):
            title, consumed, style = line.strip(), 2, (nxt.strip()[0], False)
        else:
            title = ""
        if title:
            if style not in styles:
                styles.append(style)
            heading_path = path.enter(styles.index(style) + 1, title)
            blocks.append(Block("heading", "\n".join(lines[i : i + consumed]), heading_path))
            i += consumed
            continue
        i += 1
        if line.strip():
            buffer.append(line.rstrip())
            continue
        literal = bool(buffer) and (
            buffer[-1].endswith("::") or buffer[0].lstrip().startswith(".. code")
        )
        flush()
        if literal:
            start = i
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                i += 1
            buffer.extend(lines[start:i])
            while buffer and not buffer[-1].strip():
                buffer.pop()
            flush("code")
    flush()
    return blocks
