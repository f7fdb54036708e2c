"""HTML to blocks with the standard library's :mod:`html.parser`.

``h1``-``h6`` set the heading path, ``li`` items become ``- item`` lines,
``pre`` stays verbatim as code, table cells are joined with `` | ``, and
``script``, ``style``, ``head`` and similar elements are dropped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from memosys.reader.blocks import Block, BlockKind, HeadingPath
from memosys.reader.lexicon import words

_SKIP = frozenset({"script", "style", "head", "noscript", "template", "svg", "iframe", "object"})
_BLOCK = words(
    """p div section article main header footer nav aside blockquote figure figcaption
    form fieldset table thead tbody tfoot tr ul ol dl dt dd hr address details summary
    body html"""
)
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_SPACE = re.compile(r"\s+")


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.path = HeadingPath()
        self.parts: list[str] = []
        self.kind: BlockKind = "text"
        self.skip = 0
        self.heading_level = 0
        self.list_depth = 0
        self.items: list[str] = []

    def _text(self) -> str:
        raw = "".join(self.parts)
        self.parts = []
        if self.kind == "code":
            return raw.strip("\n")
        return "\n".join(line.strip() for line in raw.split("\n")).strip()

    def flush_text(self) -> None:
        text = self._text()
        if not text:
            return
        if self.list_depth:
            self.items.append("  " * (self.list_depth - 1) + "- " + text)
        else:
            self.blocks.append(Block(self.kind, text, self.path.path))

    def flush_list(self) -> None:
        if self.items:
            self.blocks.append(Block("lines", "\n".join(self.items), self.path.path))
            self.items = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif self.skip:
            return
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            if self.parts:
                self.parts.append(" | ")
        elif tag in ("ul", "ol"):
            self.flush_text()
            self.list_depth += 1
        elif tag in _HEADINGS or tag == "pre":
            self.flush_text()
            self.list_depth = 0
            self.flush_list()
            self.heading_level = _HEADINGS.get(tag, 0)
            self.kind = "code" if tag == "pre" else "text"
        elif tag in _BLOCK or tag == "li":
            self.flush_text()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif self.skip:
            return
        elif tag in _HEADINGS and self.heading_level:
            title = self._text().replace("\n", " ")
            if title:
                self.blocks.append(
                    Block("heading", title, self.path.enter(self.heading_level, title))
                )
            self.heading_level = 0
        elif tag in ("ul", "ol"):
            self.flush_text()
            self.list_depth = max(0, self.list_depth - 1)
            if not self.list_depth:
                self.flush_list()
        elif tag in _BLOCK or tag in ("li", "pre"):
            self.flush_text()
            self.kind = "text"

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data if self.kind == "code" else _SPACE.sub(" ", data))

    def result(self) -> list[Block]:
        self.close()
        self.flush_text()
        self.flush_list()
        return self.blocks


def parse_html(text: str) -> list[Block]:
    """The blocks of an HTML document, each with its heading path."""
    parser = _Parser()
    parser.feed(text)
    return parser.result()
