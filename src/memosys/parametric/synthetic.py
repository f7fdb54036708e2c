"""Synthetic facts about fictional people and organisations, for measuring recall.

Every name and most values are made of random syllables, so that no base
model can know them. Each fact is one statement in the form the training
data generator understands (``The <attribute> of <subject> is <value>.``),
with its cloze prompt, its question, and questions phrased differently from
everything the training data contains (held-out paraphrases). The same seed
gives the same facts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from memosys.core.errors import InvalidInputError

_ONSETS = [
    "b",
    "br",
    "d",
    "dr",
    "f",
    "g",
    "gr",
    "k",
    "kr",
    "l",
    "m",
    "n",
    "p",
    "qu",
    "r",
    "s",
    "st",
    "t",
    "tr",
    "v",
    "z",
    "th",
    "sh",
    "h",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]
_CODAS = ["", "", "", "n", "r", "l", "s", "m", "x"]
_ORG_SUFFIXES = ["Systems", "Foundry", "Labs", "Collective", "Works", "Institute", "Guild"]


@dataclass(frozen=True)
class Relation:
    """An attribute a subject can have, with natural questions that never name the attribute."""

    attribute: str
    subject_kind: str  # "person" or "organisation"
    value_kind: str  # "place", "organisation", "person", "word" or "year"
    paraphrases: tuple[str, ...]  # held-out questions; ``{s}`` is the subject


RELATIONS: tuple[Relation, ...] = (
    Relation(
        "home city", "person", "place", ("Where does {s} live?", "Which city is {s} based in?")
    ),
    Relation(
        "employer",
        "person",
        "organisation",
        ("Which company does {s} work for?", "Where is {s} employed?"),
    ),
    Relation("mentor", "person", "person", ("Who mentored {s}?", "Who trained {s} early on?")),
    Relation(
        "favourite dish",
        "person",
        "word",
        ("Which food does {s} like best?", "What does {s} love to eat most?"),
    ),
    Relation("birth year", "person", "year", ("When was {s} born?", "In which year was {s} born?")),
    Relation(
        "headquarters city",
        "organisation",
        "place",
        ("Where is {s} headquartered?", "In which city is {s} based?"),
    ),
    Relation("founder", "organisation", "person", ("Who founded {s}?", "Who started {s}?")),
    Relation(
        "flagship product",
        "organisation",
        "word",
        ("Which product is {s} best known for?", "What does {s} mainly sell?"),
    ),
    Relation(
        "founding year",
        "organisation",
        "year",
        ("When was {s} founded?", "In which year was {s} established?"),
    ),
)


@dataclass(frozen=True)
class SyntheticFact:
    """One fictional fact and the prompts that test it."""

    subject: str
    relation: Relation
    value: str

    @property
    def statement(self) -> str:
        """The fact as a memory's text."""
        return f"The {self.relation.attribute} of {self.subject} is {self.value}."

    @property
    def cloze_prompt(self) -> str:
        """The statement cut before the value; the answer is :attr:`value`."""
        return f"The {self.relation.attribute} of {self.subject} is"

    @property
    def question(self) -> str:
        """The direct question, in the form the training data also uses."""
        return f"What is the {self.relation.attribute} of {self.subject}?"

    @property
    def heldout_questions(self) -> tuple[str, ...]:
        """Questions worded unlike any training example."""
        return tuple(p.format(s=self.subject) for p in self.relation.paraphrases)


class _Names:
    """Random pronounceable names that are never repeated within one generator."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def word(self, syllables: int) -> str:
        while True:
            parts = [
                self._rng.choice(_ONSETS) + self._rng.choice(_VOWELS) + self._rng.choice(_CODAS)
                for _ in range(syllables)
            ]
            word = "".join(parts).capitalize()
            if word not in self._used and len(word) >= 5:
                self._used.add(word)
                return word

    def person(self) -> str:
        return f"{self.word(2)} {self.word(2)}"

    def organisation(self) -> str:
        return f"{self.word(2)} {self._rng.choice(_ORG_SUFFIXES)}"

    def value(self, kind: str) -> str:
        if kind == "year":
            return str(self._rng.randint(1820, 1990))
        if kind == "person":
            return self.person()
        if kind == "organisation":
            return self.organisation()
        return self.word(2)


def _relations_of(first: Relation, per_subject: int) -> list[Relation]:
    """``first`` and the next relations of the same subject kind, cyclically."""
    same_kind = [r for r in RELATIONS if r.subject_kind == first.subject_kind]
    start = same_kind.index(first)
    return [same_kind[(start + k) % len(same_kind)] for k in range(per_subject)]


def synthetic_facts(count: int, *, seed: int = 0, per_subject: int = 1) -> list[SyntheticFact]:
    """``count`` facts about fictional subjects, cycling through the relations.

    Each subject has ``per_subject`` facts (different relations), so that with
    more than one a question must pick the right attribute, not just the name.
    """
    if count < 1 or not 1 <= per_subject <= 4:
        raise InvalidInputError(
            f"count must be >= 1 and per_subject 1-4, got {count} and {per_subject}"
        )
    rng = random.Random(seed)
    names = _Names(rng)
    facts: list[SyntheticFact] = []
    index = 0
    while len(facts) < count:
        first = RELATIONS[index % len(RELATIONS)]
        subject = names.person() if first.subject_kind == "person" else names.organisation()
        for relation in _relations_of(first, per_subject)[: count - len(facts)]:
            facts.append(SyntheticFact(subject, relation, names.value(relation.value_kind)))
        index += 1
    return facts
