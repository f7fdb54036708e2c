"""Markdown to blocks: ATX and setext headings, fenced code, lists, tables, front matter."""

from __future__ import annotations

import re

from memosys.reader.blocks import Block, BlockKind, HeadingPath

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")


class _Parser:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.blocks: list[Block] = []
        self.path = HeadingPath()
        self.buffer: list[str] = []
        self.kind: BlockKind = "text"

    def flush(self) -> None:
        if self.buffer:
            kind = self.kind
            if kind == "text" and all(line.lstrip().startswith("|") for line in self.buffer):
                kind = "lines"
            self.blocks.append(Block(kind, "\n".join(self.buffer).strip("\n"), self.path.path))
        self.buffer, self.kind = [], "text"

    def heading(self, level: int, title: str, source: str) -> None:
        self.flush()
        self.blocks.append(Block("heading", source, self.path.enter(level, title.strip())))

    def fence(self, start: int, marker: str) -> int:
        """Collect a fenced code block from ``start``; returns the next line index."""
        self.flush()
        end = start + 1
        while end < len(self.lines):
            closing = _FENCE.match(self.lines[end])
            if (
                closing
                and closing[1][0] == marker[0]
                and len(closing[1]) >= len(marker)
                and not self.lines[end].strip()[len(closing[1]) :].strip()
            ):
                end += 1
                break
            end += 1
        self.blocks.append(Block("code", "\n".join(self.lines[start:end]), self.path.path))
        return end

    def front_matter(self) -> int:
        if not self.lines or self.lines[0].strip() != "---":
            return 0
        for end in range(1, len(self.lines)):
            if self.lines[end].strip() in ("---", "..."):
                self.blocks.append(Block("lines", "\n".join(self.lines[: end + 1])))
                return end + 1
        return 0

    def list_continues(self, index: int) -> bool:
        """After a blank line inside a list: does the list go on?"""
        for line in self.lines[index + 1 :]:
            if line.strip():
                return bool(_LIST_ITEM.match(line)) or line.startswith(("  ", "\t"))
        return False

    def run(self) -> list[Block]:
        i = self.front_matter()
        while i < len(self.lines):
            line = self.lines[i]
            fence = _FENCE.match(line)
            if fence:
                i = self.fence(i, fence[1])
                continue
            i += 1
            if not line.strip():
                if self.kind == "lines" and self.list_continues(i - 1):
                    self.buffer.append("")
                else:
                    self.flush()
                continue
            atx = _ATX.match(line)
            if atx:
                self.heading(len(atx[1]), atx[2] or "", line)
                continue
            if _SETEXT.match(line) and self.buffer and self.kind == "text":
                title = " ".join(part.strip() for part in self.buffer)
                source = "\n".join([*self.buffer, line])
                self.buffer = []
                self.heading(1 if line.strip()[0] == "=" else 2, title, source)
                continue
            if _LIST_ITEM.match(line) and self.kind != "lines":
                self.flush()
                self.kind = "lines"
            self.buffer.append(line.rstrip())
        self.flush()
        return self.blocks


def parse_markdown(text: str) -> list[Block]:
    """The blocks of a Markdown document, each with its heading path."""
    return _Parser(text.splitlines()).run()
