"""Questions about a memory written by a local LLM, for richer training data.

The model is asked for question/answer pairs in a fixed ``Q:``/``A:`` layout;
:func:`parse_pairs` reads them back. :mod:`memosys.parametric.dataset` keeps
only the pairs whose answer is found in the sentence, so an invented answer
never becomes training data.
"""

from __future__ import annotations

import re
from typing import Any

from memosys.parametric.dataset import QuestionWriter

INSTRUCTION = (
    "Write two different questions about the fact below, each followed by its short answer "
    "copied from the fact. Use exactly this layout:\nQ: <question>\nA: <answer>\n\nFact: "
)
_PAIR = re.compile(r"^\s*Q:\s*(?P<q>.+?)\s*\n\s*A:\s*(?P<a>.+?)\s*$", re.MULTILINE)


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """The ``Q:``/``A:`` pairs in a model's answer, in order."""
    return [(match["q"], match["a"].rstrip(".")) for match in _PAIR.finditer(text)]


def lm_question_writer(lm: Any, *, max_new_tokens: int = 96) -> QuestionWriter:
    """A :data:`~memosys.parametric.dataset.QuestionWriter` backed by a local chat model."""

    def write(sentence: str) -> list[tuple[str, str]]:
        prompt = lm.render_chat(
            [{"role": "user", "content": INSTRUCTION + sentence}], add_generation_prompt=True
        )
        return parse_pairs(lm.generate(prompt, max_new_tokens=max_new_tokens).text)

    return write
