"""Slot facts: who has which single-valued attribute, read from text without a model.

A small lexicon of patterns finds statements such as "I moved to Berlin",
"Alice works at Acme" or "my favourite colour is green" and turns each into
a :class:`SlotFact` ``(subject, slot, value)``; broad cues (:mod:`.slot_cues`)
read other phrasings of a new value ("Traded the old car for a Kia Niro")
when the value has its slot's shape (:mod:`.slot_values`). A slot holds one value per
subject at a time (residence, employer, partner, ...), so two facts with the
same subject and slot but different values conflict: the later one is the
knowledge update. First-person statements belong to the speaker.

Sentences that are questions, hypothetical, planned or in the past habitual
("if I moved to Rome", "I used to live in Oslo", "I will move to Madrid") are
skipped: they state no current fact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from memosys.lifecycle.slot_cues import CUES, IDIOMS
from memosys.lifecycle.slot_grammar import (
    ADV,
    AUX,
    BE,
    EMAIL,
    HAVE,
    NUMBER,
    PARTNERS,
    PETS,
    PHONE,
    PROPER,
    A,
    Compiled,
    NeedleIndex,
    P,
    S,
    V,
    compile_all,
)
from memosys.lifecycle.slot_values import fits
from memosys.reader.lexicon import SENTENCE_STARTERS, STOPWORDS, TIME_WORDS


@dataclass(frozen=True)
class SlotFact:
    """One attribute value of a subject, e.g. ``("user", "residence", "berlin")``."""

    subject: str
    slot: str
    value: str

    @property
    def key(self) -> tuple[str, str]:
        """What a conflicting fact shares with this one: subject and slot."""
        return self.subject, self.slot


#: (slot, pattern, value shape) rows; a ``kind`` group refines the slot ("pet:dog").
LEXICON: tuple[tuple[str, str, str | None], ...] = (
    ("residence",
     rf"{S}{AUX} {ADV}(?:live|lives|living|reside|resides) (?:over |out |down |up )?in {V}",
     None),
    ("residence", rf"{S}{HAVE} {ADV}(?:moved|relocated)(?: back)?(?: from .+?)? to {V}", None),
    ("residence", rf"{S}{BE} {ADV}(?:based|settled) in {V}", None),
    ("residence", rf"{P} {A}(?:home|place|apartment|flat|house) is {ADV}in {V}", None),
    ("employer", rf"{S}{AUX} {ADV}(?:work|works|working) (?:at|for) {V}", None),
    ("employer",
        rf"{S}{HAVE} {ADV}(?:(?:started|began) (?:a new job |working |my new job )?at|"
        rf"got a (?:new )?job (?:at|with)|(?:was|got|been) hired (?:at|by)) {V}", None,
    ),
    # "joined a gym", "joined in": only a named organisation is an employer
    ("employer", rf"{S}{HAVE} {ADV}joined {PROPER}", "proper"),
    ("employer", rf"{P} {A}(?:employer|company) is {ADV}{V}", None),
    ("job", rf"{S}{AUX} {ADV}(?:work|works|working) as {A}{V}", None),
    ("job", rf"{P} {A}(?:job|job title|title|role|position) is {ADV}{A}{V}", None),
    ("job", rf"{S}{HAVE} (?:was |got |been )?promoted to {A}{V}", None),
    ("partner", rf"{P} (?:{PARTNERS})(?:['’]s name)? is (?:called |named )?{V}", None),
    # "I'm seeing more sales": a partner has a name
    ("partner", rf"{S}{BE} {ADV}(?:dating|seeing|engaged to|married to) {PROPER}", "proper"),
    ("partner", rf"{S}{HAVE} {ADV}(?:married|started dating|got engaged to) {V}", None),
    ("pet",
        rf"{P} {A}(?P<kind>{PETS})(?:['’]s name)? is (?:called |named )?{V}", None,
    ),
    ("pet",
        rf"{S}{HAVE} {ADV}(?:have|has|got|adopted|bought) {A}(?P<kind>{PETS}) "
        rf"(?:called|named) {V}", None,
    ),
    ("car", rf"{S}{AUX} {ADV}(?:drive|drives|driving) {A}{V}", None),
    ("car", rf"{P} {A}car is {ADV}{A}{V}", None),
    ("car", rf"{S}{HAVE} {ADV}(?:bought|got) {A}car,? {A}{V}", None),
    ("phone_number", rf"{P} {A}(?:phone|mobile|cell)? ?number is {ADV}{PHONE}", None),
    ("phone", rf"{P} {A}phone is {ADV}{A}{V}", None),
    ("email", rf"{P} {A}e-?mail(?: address)? is {ADV}{EMAIL}", None),
    ("favourite",
        rf"{P} {A}(?:favou?rite|fave) (?P<kind>[a-z]+(?: [a-z]+)?) is {ADV}{A}{V}", None,
    ),
    ("age", rf"{S}{BE} {ADV}{NUMBER} years? old", None),
    ("age", rf"{S}{HAVE} {ADV}turned {NUMBER}\b", None),
    ("name", rf"{P} name is {V}", None),
    ("school", rf"{S}{AUX} {ADV}(?:study|studies|studying) at {V}", None),
)

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_NOT_A_FACT = re.compile(
    r"\?|\b(?:if|would|wish|might|maybe|perhaps|plan|plans|planning|thinking|considering|"
    r"want|wants|hope|hoping|used to|going to|gonna|will|someday|dream|should|could|"
    r"not|n't|never|no longer|anymore)\b",
    re.IGNORECASE,
)
#: kinds that name the same slot ("my puppy" / "my dog", "favourite dish" / "favourite food")
KINDS = {"puppy": "dog", "kitten": "cat", "bunny": "rabbit", "favorite": "favourite",
         "dish": "food", "meal": "food", "cuisine": "food"}
PATTERNS = compile_all(LEXICON)
"""The lexicon's rows compiled: set phrasings, read first."""
BROAD = compile_all(CUES)
"""The broad cues compiled: they add facts for subjects and slots the lexicon missed."""
_LEXICON_ROWS, _BROAD_ROWS = NeedleIndex(PATTERNS), NeedleIndex(BROAD)
# the needles are ASCII, so one found in a sentence, even with its first letter
# lowercased, is also found (lowercased) in the lowercased text
_NEEDLES = tuple(
    (needle, needle.lower()) for needle in sorted({n for row in PATTERNS + BROAD for n in row[3]})
)
_FILLER = re.compile(r"^(?:(?:a|an|the|my|our|new|brand new)\s+)+")  # lowercase: "New York"
_FIRST_PERSON = {"i", "we", "my", "our", "me", "us"}
MAX_VALUE_WORDS = 6


def extract_facts(text: str, first_person: str = "user") -> list[SlotFact]:
    """The slot facts stated in ``text``; "I"/"my" stand for ``first_person``.

    A subject and slot stated twice keeps its last value; the lexicon's
    reading of a sentence wins over the broad cues' (:mod:`.slot_cues`).
    """
    found: dict[tuple[str, str], SlotFact] = {}
    candidates = _candidates(text)
    for sentence in _SENTENCE.split(text):
        if not sentence.strip():
            continue
        present = _present(sentence, candidates)
        read = _read(sentence, _LEXICON_ROWS.runnable(present), first_person)
        broad = _read(sentence, _BROAD_ROWS.runnable(present), first_person)
        lowered = sentence[:1].lower() + sentence[1:]
        if lowered != sentence:
            # a chat sentence may start with its verb: "Signed my contract with Initech"; only
            # a reading that starts at the first letter can differ from the sentence's own
            rows = _BROAD_ROWS.runnable(_present(lowered, candidates))
            first = _read(lowered, rows, first_person, at_start=True)
            broad = {**first, **broad}
        found.update({**broad, **read})
    return list(found.values())


def _candidates(text: str) -> list[str]:
    """The patterns' needles that a sentence of ``text`` may contain: those in its lowercase."""
    lowered = text.lower()
    return [needle for needle, folded in _NEEDLES if folded in lowered]


def _present(sentence: str, candidates: list[str]) -> set[str]:
    """The ``candidates`` that ``sentence`` contains."""
    return {needle for needle in candidates if needle in sentence}


def _read(
    sentence: str, rows: Iterable[Compiled], first_person: str, *, at_start: bool = False
) -> dict[tuple[str, str], SlotFact]:
    found: dict[tuple[str, str], SlotFact] = {}
    for slot, pattern, shape, _ in rows:
        if at_start:
            first = pattern.match(sentence)
            matches: Iterable[re.Match[str]] = (first,) if first else ()
        else:
            matches = pattern.finditer(sentence)
        for match in matches:
            if _NOT_A_FACT.search(IDIOMS.sub(" ", sentence[: match.end()])):
                continue
            if not fits(shape, match["value"]):
                continue
            fact = _fact(slot, match, first_person)
            if fact is not None:
                found[fact.key] = fact
    return found


def _fact(slot: str, match: re.Match[str], first_person: str) -> SlotFact | None:
    subject = _subject(match["subj"], first_person)
    value = _value(match["value"])
    if subject is None or value is None:
        return None
    kind = match.groupdict().get("kind")
    if kind:
        kind = kind.lower()
        slot = f"{slot}:{KINDS.get(kind, kind)}"
    return SlotFact(subject, slot, value)


def _subject(raw: str, first_person: str) -> str | None:
    """Who a subject group names; an empty one (a sentence without a subject) is the speaker."""
    if not raw:
        return first_person.lower()
    words = re.sub(r"['’]s$", "", raw.strip()).split()
    while words and (
        words[0] in SENTENCE_STARTERS
        or words[0] in TIME_WORDS
        or (words[0].lower() in STOPWORDS and words[0].lower() not in _FIRST_PERSON)
    ):
        words = words[1:]
    if not words:
        return None
    head = words[0].lower()
    if head in _FIRST_PERSON:
        owner = first_person.lower()
        return owner if len(words) == 1 else f"{owner}'s {' '.join(words[1:]).lower()}"
    return " ".join(words).lower()


def _value(raw: str) -> str | None:
    value = _FILLER.sub("", raw.strip()).strip(" '\"’").lower()
    value = re.sub(r"\s+", " ", value)
    if not value or len(value.split()) > MAX_VALUE_WORDS:
        return None
    return value
