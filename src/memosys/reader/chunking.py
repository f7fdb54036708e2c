"""Blocks to chunks of at most ``size`` characters, with overlap, never cutting a word.

A block that fits stays whole. A longer one is split at its own boundaries:
prose at sentences, lists at items, code at lines (a fenced block is
re-fenced in every part), and a sentence longer than a chunk at spaces. Only a
single token longer than a chunk (a long URL, base64) is cut. A heading
starts a new chunk; its line is kept with the text that follows. A chunk that
continues a section begins with the last ``overlap`` characters of the one
before, from a word start, unless that would break a code fence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from memosys.reader.blocks import Block

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ITEM = re.compile(r"^ {0,3}(?:[-*+•]|\d{1,9}[.)])\s")


@dataclass(frozen=True, slots=True)
class Chunk:
    """The text of one chunk and the heading path it sits under."""

    text: str
    headings: tuple[str, ...]


def pack(units: Iterable[str], limit: int, joiner: str) -> list[str]:
    """Greedily join ``units`` into strings of at most ``limit`` characters.

    A unit longer than ``limit`` on its own is cut into ``limit``-sized parts. An
    empty unit (a blank line of code) is kept, except at the start of a string.
    """
    out: list[str] = []
    current = ""
    for unit in units:
        cut = False
        while len(unit) > limit:
            if current:
                out.append(current)
                current = ""
            out.append(unit[:limit])
            unit, cut = unit[limit:], True
        if not unit and (cut or not current):
            continue
        if current and len(current) + len(joiner) + len(unit) > limit:
            out.append(current)
            current = unit
        else:
            current = current + joiner + unit if current else unit
    if current:
        out.append(current)
    return out


def split_prose(text: str, limit: int) -> list[str]:
    """``text`` as sentences, each of at most ``limit`` characters (long ones split at spaces)."""
    parts: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        if len(sentence) <= limit:
            parts.append(sentence)
        else:
            parts.extend(pack(sentence.split(), limit, " "))
    return parts


def _split_lines(block: Block, limit: int) -> list[tuple[str, str]]:
    """List items (or table rows) as pieces; an item too long is split as prose."""
    items: list[str] = []
    for line in block.text.split("\n"):
        if items and not _ITEM.match(line) and not line.lstrip().startswith("|"):
            items[-1] += "\n" + line
        else:
            items.append(line)
    pieces: list[tuple[str, str]] = []
    for item in items:
        parts = [item] if len(item) <= limit else split_prose(item, limit)
        pieces.append((parts[0], "\n"))
        pieces.extend((part, " ") for part in parts[1:])
    return pieces


def _split_code(block: Block, limit: int) -> list[tuple[str, str]]:
    """Code split at lines; a fenced block is re-fenced in every part."""
    lines = block.text.split("\n")
    fenced = len(lines) >= 2 and bool(_FENCE.match(lines[0])) and bool(_FENCE.match(lines[-1]))
    opening, closing = (lines[0], lines[-1]) if fenced else ("", "")
    body = lines[1:-1] if fenced else lines
    budget = max(limit - len(opening) - len(closing) - 2, limit // 2) if fenced else limit
    units: list[str] = []
    for line in body:
        units.extend([line] if len(line) <= budget else pack(line.split(), budget, " "))
    groups = pack(units, budget, "\n")
    if fenced:
        return [("\n".join([opening, group, closing]), "\n\n") for group in groups]
    return [(group, "\n") for group in groups]


def pieces(block: Block, size: int, limit: int) -> list[tuple[str, str]]:
    """``block`` as ``(text, separator-before)`` pieces; whole when it fits in ``size``."""
    if len(block.text) <= size:
        return [(block.text, "\n\n")]
    if block.kind == "code":
        parts = _split_code(block, limit)
    elif block.kind == "lines":
        parts = _split_lines(block, limit)
    else:
        parts = [(sentence, " ") for sentence in split_prose(block.text, limit)]
    return [(parts[0][0], "\n\n"), *parts[1:]]


def overlap_tail(text: str, overlap: int) -> str:
    """The last ``overlap`` characters of ``text``, moved forward to a word start."""
    if overlap <= 0:
        return ""
    start = max(len(text) - overlap, 0)
    if start > 0 and not text[start - 1].isspace():
        while start < len(text) and not text[start].isspace():
            start += 1
    return text[start:].strip()


class _Packer:
    def __init__(self, size: int, overlap: int) -> None:
        self.size = size
        self.overlap = overlap
        self.chunks: list[Chunk] = []
        self.text = ""
        self.headings: tuple[str, ...] = ()
        self.has_content = False

    def flush(self) -> None:
        if self.text.strip():
            self.chunks.append(Chunk(self.text, self.headings))
        self.text, self.has_content = "", False

    def heading(self, block: Block) -> None:
        if self.has_content:
            self.flush()
        if block.text:
            self.text = f"{self.text}\n\n{block.text}" if self.text else block.text
        self.headings = block.headings

    def add(self, piece: str, separator: str, block: Block) -> None:
        if not self.has_content:
            self._start(piece, block)
        elif len(self.text) + len(separator) + len(piece) <= self.size:
            self.text += separator + piece
        else:
            tail = "" if block.kind == "code" else overlap_tail(self.text, self.overlap)
            if "```" in tail or "~~~" in tail:
                tail = ""
            self.flush()
            fits = tail and len(tail) + len(separator) + len(piece) <= self.size
            self.text = tail + separator + piece if fits else piece
            self.headings, self.has_content = block.headings, True

    def _start(self, piece: str, block: Block) -> None:
        """First content of a section, after any pending heading lines."""
        prefix = f"{self.text}\n\n" if self.text else ""
        self.headings, self.has_content = block.headings, True
        if len(prefix) + len(piece) <= self.size:
            self.text = prefix + piece
            return
        # Keep the heading lines and move the words that do not fit on to the next chunk;
        # code is not split here, so its heading lines give way (the path stays in headings).
        cut = -1 if block.kind == "code" else piece.rfind(" ", 0, self.size - len(prefix))
        if cut <= 0:
            self.text = piece
            return
        self.text = prefix + piece[:cut]
        self.add(piece[cut + 1 :], " ", block)


def chunk_blocks(blocks: Iterable[Block], size: int, overlap: int) -> list[Chunk]:
    """Pack ``blocks`` into chunks of at most ``size`` characters.

    ``overlap`` is capped at half of ``size`` so that every chunk adds new text.
    """
    overlap = min(overlap, size // 2)
    packer = _Packer(size, overlap)
    for block in blocks:
        if block.kind == "heading":
            packer.heading(block)
            continue
        for piece, separator in pieces(block, size, size - overlap):
            packer.add(piece, separator, block)
    packer.flush()
    return packer.chunks
