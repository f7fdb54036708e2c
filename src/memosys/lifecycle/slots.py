"""Slot facts: who has which single-valued attribute, read from text without a model.

A small lexicon of patterns finds statements such as "I moved to Berlin",
"Alice works at Acme" or "my favourite colour is green" and turns each into
a :class:`SlotFact` ``(subject, slot, value)``. A slot holds one value per
subject at a time (residence, employer, partner, ...), so two facts with the
same subject and slot but different values conflict: the later one is the
knowledge update. First-person statements belong to the speaker.

Sentences that are questions, hypothetical, planned or in the past habitual
("if I moved to Rome", "I used to live in Oslo", "I will move to Madrid") are
skipped: they state no current fact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


_RELATIVES = (
    "sister|brother|mom|mum|mother|dad|father|son|daughter|wife|husband|partner|"
    "girlfriend|boyfriend|friend|boss|cousin|aunt|uncle|grandma|grandpa|roommate"
)
_NAME = r"[A-Z][a-z]+(?: [A-Z][a-z]+)?"
# a subject before a verb: I / we / a name / my sister
S = rf"(?P<subj>\bI\b|\b[Ww]e\b|\b[Mm]y (?:{_RELATIVES})\b|\b{_NAME})"
# a possessive subject: my / our / Alice's / my sister's
P = rf"(?P<subj>\b[Mm]y\b|\b[Oo]ur\b|\b[Mm]y (?:{_RELATIVES})['’]s|\b{_NAME}['’]s)"
# a value: a short phrase up to punctuation or a word that ends the phrase
_END = (
    r"now|currently|since|because|and|but|with|last|this|next|for|when|after|before|where|"
    r"which|who|so|as|from|ago|recently|yesterday|today|already|again|too|though|anymore|"
    r"in \d{4}|at the moment|these days|a (?:few|couple)|about|around|nearby|near"
)
V = rf"(?P<value>[^\n,.;:!?()\"]+?)(?=\s*(?:[,.;:!?()\"\n]|$)|\s+(?:{_END})\b)"
_EMAIL = r"(?P<value>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
_PHONE = r"(?P<value>\+?\d[\d\s().-]{5,}\d)"
_NUMBER = r"(?P<value>\d{1,3})"
_ADV = r"(?:(?:now|currently|recently|just|finally|also|actually|officially) )*"
_HAVE = r"(?: have| has| had|'ve|’ve)?"  # glued to the subject: "I've", "I have"
_BE = r"(?: am| is| are|'m|’m|'re|’re|'s|’s)"
_AUX = rf"(?:{_BE}|{_HAVE} been)?"
_A = r"(?:(?:a|an|the) )?(?:new )?"
_PETS = r"dog|puppy|cat|kitten|pet|hamster|parrot|rabbit|bunny|bird|fish|turtle|horse"
_PARTNERS = r"girlfriend|boyfriend|partner|wife|husband|fianc[eé]e?|spouse"


def _p(slot: str, pattern: str) -> tuple[str, re.Pattern[str]]:
    return slot, re.compile(pattern)


#: slot -> patterns; a ``kind`` group refines the slot ("favourite:colour", "pet:dog").
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    _p("residence", rf"{S}{_AUX} {_ADV}(?:live|lives|living|reside|resides) in {V}"),
    _p("residence", rf"{S}{_HAVE} {_ADV}(?:moved|relocated)(?: back)?(?: from .+?)? to {V}"),
    _p("residence", rf"{S}{_BE} {_ADV}(?:based|settled) in {V}"),
    _p("residence", rf"{P} {_A}(?:home|place|apartment|flat|house) is {_ADV}in {V}"),
    _p("employer", rf"{S}{_AUX} {_ADV}(?:work|works|working) (?:at|for) {V}"),
    _p(
        "employer",
        rf"{S}{_HAVE} {_ADV}(?:joined|(?:started|began) (?:a new job |working |my new job )?at|"
        rf"got a (?:new )?job (?:at|with)|(?:was|got|been) hired (?:at|by)) {V}",
    ),
    _p("employer", rf"{P} {_A}(?:employer|company) is {_ADV}{V}"),
    _p("job", rf"{S}{_AUX} {_ADV}(?:work|works|working) as {_A}{V}"),
    _p("job", rf"{P} {_A}(?:job|job title|role|position) is {_ADV}{_A}{V}"),
    _p("job", rf"{S}{_HAVE} (?:was |got |been )?promoted to {_A}{V}"),
    _p("partner", rf"{P} (?:{_PARTNERS})(?:['’]s name)? is (?:called |named )?{V}"),
    _p("partner", rf"{S}{_BE} {_ADV}(?:dating|seeing|engaged to|married to) {V}"),
    _p("partner", rf"{S}{_HAVE} {_ADV}(?:married|started dating|got engaged to) {V}"),
    _p(
        "pet",
        rf"{P} {_A}(?P<kind>{_PETS})(?:['’]s name)? is (?:called |named )?{V}",
    ),
    _p(
        "pet",
        rf"{S}{_HAVE} {_ADV}(?:have|has|got|adopted|bought) {_A}(?P<kind>{_PETS}) "
        rf"(?:called|named) {V}",
    ),
    _p("car", rf"{S}{_AUX} {_ADV}(?:drive|drives|driving) {_A}{V}"),
    _p("car", rf"{P} {_A}car is {_ADV}{_A}{V}"),
    _p("car", rf"{S}{_HAVE} {_ADV}(?:bought|got) {_A}car,? {_A}{V}"),
    _p("phone_number", rf"{P} {_A}(?:phone|mobile|cell)? ?number is {_ADV}{_PHONE}"),
    _p("phone", rf"{P} {_A}phone is {_ADV}{_A}{V}"),
    _p("email", rf"{P} {_A}e-?mail(?: address)? is {_ADV}{_EMAIL}"),
    _p(
        "favourite",
        rf"{P} {_A}(?:favou?rite|fave) (?P<kind>[a-z]+(?: [a-z]+)?) is {_ADV}{_A}{V}",
    ),
    _p("age", rf"{S}{_BE} {_ADV}{_NUMBER} years? old"),
    _p("age", rf"{S}{_HAVE} {_ADV}turned {_NUMBER}\b"),
    _p("name", rf"{P} name is {V}"),
    _p("school", rf"{S}{_AUX} {_ADV}(?:study|studies|studying) at {V}"),
)

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_NOT_A_FACT = re.compile(
    r"\?|\b(?:if|would|wish|might|maybe|perhaps|plan|plans|planning|thinking|considering|"
    r"want|wants|hope|hoping|used to|going to|gonna|will|someday|dream|should|could|"
    r"not|n't|never|no longer|anymore)\b",
    re.IGNORECASE,
)
_KINDS = {"puppy": "dog", "kitten": "cat", "bunny": "rabbit", "favorite": "favourite"}
_FILLER = re.compile(r"^(?:(?:a|an|the|my|our|new|brand new)\s+)+")  # lowercase: "New York"
_FIRST_PERSON = {"i", "we", "my", "our"}
MAX_VALUE_WORDS = 6


def extract_facts(text: str, first_person: str = "user") -> list[SlotFact]:
    """The slot facts stated in ``text``; "I"/"my" stand for ``first_person``.

    A subject and slot stated twice keeps its last value.
    """
    found: dict[tuple[str, str], SlotFact] = {}
    for sentence in _SENTENCE.split(text):
        if not sentence.strip():
            continue
        for slot, pattern in PATTERNS:
            for match in pattern.finditer(sentence):
                if _NOT_A_FACT.search(sentence[: match.end()]):
                    continue
                fact = _fact(slot, match, first_person)
                if fact is not None:
                    found[fact.key] = fact
    return list(found.values())


def _fact(slot: str, match: re.Match[str], first_person: str) -> SlotFact | None:
    subject = _subject(match["subj"], first_person)
    value = _value(match["value"])
    if subject is None or value is None:
        return None
    kind = match.groupdict().get("kind")
    if kind:
        kind = kind.lower()
        slot = f"{slot}:{_KINDS.get(kind, kind)}"
    return SlotFact(subject, slot, value)


def _subject(raw: str, first_person: str) -> str | None:
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
