"""Training data for an adapter: statements, cloze completions and questions from memories.

Without an LLM the forms are made by rules, so the same memories always give
the same data: every sentence is a statement; a sentence of the form
``The <attribute> of <subject> is <value>.`` or ``<Subject>'s <attribute> is
<value>.`` also gives a cloze prompt (cut before the value) and two questions
whose answer is the value; any other sentence gives a cloze prompt cut before
its last short phrase. A :data:`QuestionWriter` (an LLM, when one is
configured) can add more question/answer pairs; a pair is kept only if its
answer is found in the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from memosys.core.errors import EmptyInputError

ExampleKind = Literal["statement", "cloze", "qa"]
QuestionWriter = Callable[[str], Sequence[tuple[str, str]]]
"""Given one sentence, question/answer pairs about it (for example written by an LLM)."""

_ATTRIBUTE_OF = re.compile(
    r"^The (?P<attr>[^.?!]+?) of (?P<subj>[^.?!]+?) is (?P<value>[^?!]+?)\.?$"
)
_POSSESSIVE = re.compile(
    r"^(?P<subj>[A-Z][^.?!']*?)'s (?P<attr>[^.?!]+?) is (?P<value>[^?!]+?)\.?$"
)
_LINK = re.compile(r"\s(?:is|are|was|were|in|at|on|to|for|by|of|from|with)\s", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")
MAX_ANSWER_WORDS = 5


@dataclass(frozen=True)
class SourceMemory:
    """A memory as the adapter records it: id, version and text."""

    id: str
    version: int
    text: str


@dataclass(frozen=True)
class Example:
    """One training sequence: the loss is on ``completion`` only (all of it for a statement)."""

    prompt: str
    completion: str
    kind: ExampleKind
    memory_id: str


@dataclass(frozen=True)
class AttributeFact:
    """A sentence read as subject, attribute and value."""

    subject: str
    attribute: str
    value: str


def qa_prompt(question: str) -> str:
    """The prompt used for a question, in training and in evaluation alike."""
    return f"Question: {question}\nAnswer:"


def parse_attribute_fact(sentence: str) -> AttributeFact | None:
    """The subject, attribute and value of an attribute sentence, or None."""
    text = sentence.strip()
    for pattern in (_ATTRIBUTE_OF, _POSSESSIVE):
        match = pattern.match(text)
        if match:
            return AttributeFact(
                match["subj"].strip(), match["attr"].strip(), match["value"].strip()
            )
    return None


def attribute_questions(fact: AttributeFact) -> list[str]:
    """The questions the rules ask about an attribute fact."""
    return [
        f"What is the {fact.attribute} of {fact.subject}?",
        f"What is {fact.subject}'s {fact.attribute}?",
    ]


def sentences(text: str) -> list[str]:
    """The sentences of a memory's text (a simple split on end punctuation)."""
    return [part.strip() for part in _SENTENCE_END.split(text.strip()) if part.strip()]


def _cloze(sentence: str) -> tuple[str, str] | None:
    """A generic cloze split: before the last linking word whose tail is short."""
    body = sentence.rstrip(".!? ")
    for match in reversed(list(_LINK.finditer(body))):
        tail = body[match.end() :].strip()
        if tail and len(tail.split()) <= MAX_ANSWER_WORDS:
            return body[: match.end()].rstrip(), tail
    words = body.split()
    if len(words) < 3:
        return None
    return " ".join(words[:-1]), words[-1]


def _answer_found(answer: str, sentence: str) -> bool:
    return bool(answer.strip()) and answer.strip().lower() in sentence.lower()


def sentence_examples(
    sentence: str, memory_id: str, question_writer: QuestionWriter | None = None
) -> list[Example]:
    """The statement, cloze and question examples of one sentence."""
    examples = [Example("", sentence, "statement", memory_id)]
    fact = parse_attribute_fact(sentence)
    if fact is not None:
        prompt = sentence.strip()[: sentence.strip().rindex(fact.value)].rstrip()
        examples.append(Example(prompt, f" {fact.value}", "cloze", memory_id))
        examples.extend(
            Example(qa_prompt(q), f" {fact.value}.", "qa", memory_id)
            for q in attribute_questions(fact)
        )
    elif (split := _cloze(sentence)) is not None:
        examples.append(Example(split[0], f" {split[1]}", "cloze", memory_id))
    if question_writer is not None:
        examples.extend(
            Example(qa_prompt(q.strip()), f" {a.strip()}", "qa", memory_id)
            for q, a in question_writer(sentence)
            if q.strip() and _answer_found(a, sentence)
        )
    return examples


def build_examples(
    memories: Sequence[SourceMemory], *, question_writer: QuestionWriter | None = None
) -> list[Example]:
    """Every training example of the memories, in memory and sentence order."""
    if not memories:
        raise EmptyInputError("no memories to distil; choose memory ids or a filter that matches")
    examples: list[Example] = []
    for memory in memories:
        for sentence in sentences(memory.text):
            examples.extend(sentence_examples(sentence, memory.id, question_writer))
    return examples
