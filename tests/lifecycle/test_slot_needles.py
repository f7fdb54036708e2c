"""needles(): texts every match of a slot pattern contains, so sentences without them skip it."""

from __future__ import annotations

import dataclasses
from typing import Any

from memosys.eval.synthetic_updates import generate
from memosys.lifecycle.slot_grammar import NeedleIndex, compile_all, needles
from memosys.lifecycle.slots import BROAD, PATTERNS


def test_needles_are_the_most_selective_text_no_match_can_skip() -> None:
    assert needles(r"a(?:bcd)?xyz") == ("xyz",)  # the optional part is not required
    assert needles(r"(?:moved|relocated) to") == ("moved", "relocated")
    assert needles(r"(?i:hello) there") == (" there",)  # case-blind text is left out
    assert needles(r"(?:x|longword) to") == (" to",)  # "x" is too short to stand for its branch
    assert needles(r"\w+ (?P<value>[A-Z]\w*)") == ()


def _texts(value: Any, out: list[str]) -> list[str]:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _texts(item, out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _texts(item, out)
    elif dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            _texts(getattr(value, field.name), out)
    return out


def test_every_match_of_every_slot_pattern_contains_one_of_its_needles() -> None:
    texts = _texts([generate(w, unseen=1.0, split=s).sessions
                    for w in range(3) for s in ("dev", "held_out")], [])
    checked = 0
    for _, pattern, _, found in PATTERNS + BROAD:
        for text in texts:
            for match in pattern.finditer(text):
                checked += 1
                assert not found or any(n in match.group(0) for n in found), (pattern, text)
    assert checked > 100
    # ASCII, so that a needle in a sentence is also in the lowercased text (slots._candidates)
    assert all(n.isascii() for _, _, _, found in PATTERNS + BROAD for n in found)


def test_a_needle_index_runs_the_rows_a_sentence_can_match_in_order() -> None:
    rows = compile_all((("a", r"moved to (?P<value>\w+)", None),
                        ("b", r"(?P<value>\w+)", None),
                        ("c", r"(?:lives|moved) in (?P<value>\w+)", None)))
    index = NeedleIndex(rows)
    assert [row[0] for row in index.runnable({"moved"})] == ["b", "c"]
    assert [row[0] for row in index.runnable({"moved to ", "moved"})] == ["a", "b", "c"]
    assert [row[0] for row in index.runnable(set())] == ["b"]
