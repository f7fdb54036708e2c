"""The structure every document parser produces: a flat list of blocks.

A block is a heading, a prose paragraph, a line-structured block (a list or
a table) or a code block, tagged with the heading path in effect. A heading
block with empty text only marks a section boundary (e.g. between JSON
records).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BlockKind = Literal["heading", "text", "lines", "code"]


@dataclass(frozen=True, slots=True)
class Block:
    """One structural unit of a document."""

    kind: BlockKind
    text: str
    headings: tuple[str, ...] = ()


class HeadingPath:
    """The stack of enclosing headings, by level."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> tuple[str, ...]:
        """Open a heading of ``level`` (1 = top) and return the new path."""
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))
        return self.path

    @property
    def path(self) -> tuple[str, ...]:
        """The titles from the outermost heading to the innermost."""
        return tuple(title for _, title in self._stack)


def paragraphs(text: str, headings: tuple[str, ...] = ()) -> list[Block]:
    """Plain text split into prose blocks at blank lines."""
    blocks: list[Block] = []
    current: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append(Block("text", "\n".join(current), headings))
            current = []
    return blocks
