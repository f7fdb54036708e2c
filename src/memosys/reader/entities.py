"""Lightweight named-entity spotting (no model).

Entities are URLs, e-mail addresses, @handles, #hashtags and runs of
capitalised words ("New York", "Melanie Smith", "Bank of America"). Leading
fillers are dropped ("Hey Caroline" gives "Caroline"). A single capitalised
word that starts a sentence carries no evidence of being a name ("Books are
fun"), so it counts only when it is possessive ("Oliver's"), an acronym
("NYC"), seen mid-sentence in the same text, or in ``known``, which callers
fill from a wider context: the speakers and :func:`name_evidence` of a whole
conversation. Day and month names are left to the time-expression reader.
Results keep their original case, deduplicated case-insensitively, in order
of first appearance.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from memosys.reader.lexicon import SENTENCE_STARTERS, STOPWORDS, TIME_WORDS

_URL = re.compile(r"\bhttps?://[^\s<>\"']+|\bwww\.[^\s<>\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_HANDLE = re.compile(r"(?<![\w@#&])[@#][^\W\d_][\w.]*\w|(?<![\w@#&])[@#][^\W\d_]")
_WORD = re.compile(r"[^\W\d_]\w*(?:['’-]\w+)*")
# what every match of each pattern holds (in lowercase)
_MASKS = ((_URL, ("://", "www.")), (_EMAIL, ("@",)), (_HANDLE, ("@", "#")))
_CONNECTORS = frozenset({"of", "de", "van", "von", "der", "den", "da", "del", "di", "la", "le"})
_OPENERS = frozenset(" \t\r\"'“‘(*_-–—")
_PRONOUNS = frozenset({"i", "i'm", "i've", "i'd", "i'll", "i’m", "i’ve", "i’d", "i’ll"})


def _named(word: str, possessive: bool, known: Collection[str]) -> bool:
    """Whether a lone sentence-initial capitalised word is a name."""
    if word.lower() in STOPWORDS or word in SENTENCE_STARTERS:
        return False
    return word in known or possessive or (len(word) > 1 and word.isupper())


def _strip_possessive(word: str) -> str:
    for suffix in ("'s", "’s", "'", "’"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _starts_sentence(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in _OPENERS:
        i -= 1
    return i < 0 or text[i] in ".!?:;\n"


Span = tuple[int, list[str], bool]  # start offset, words, starts a sentence


def _spans(text: str) -> list[Span]:
    """Runs of capitalised words, joined by connectors ("of", "&"), in text order."""
    spans: list[Span] = []
    current: list[str] = []
    pending: list[str] = []  # a connector waiting for the next capitalised word
    first = 0
    last_end = 0
    for match in _WORD.finditer(text):
        word = match[0]
        # what stands between this word and the run before it, if any
        gap = text[last_end : match.start()].strip(" \t") if current else ""
        last_end = match.end()
        adjacent = bool(current) and gap in ("", "&")
        if word[0].isupper() and word.lower() not in _PRONOUNS:
            if adjacent and not (pending and gap):
                current.extend([*pending, *([gap] if gap else []), word])
            else:
                if current:
                    spans.append((first, current, _starts_sentence(text, first)))
                current, first = [word], match.start()
            pending = []
        elif adjacent and not gap and not pending and word in _CONNECTORS:
            pending = [word]
        else:
            if current:
                spans.append((first, current, _starts_sentence(text, first)))
            current, pending = [], []
    if current:
        spans.append((first, current, _starts_sentence(text, first)))
    return spans


def _strippable(word: str, initial: bool) -> bool:
    """A leading word that is not part of the name ("Hey Caroline", "The Louvre", "OK")."""
    lowered = word.lower()
    if lowered in ("the", "a", "an") or (word.isupper() and lowered in STOPWORDS):
        return True
    return initial and (word in SENTENCE_STARTERS or lowered in STOPWORDS)


def _clean(words: list[str], initial: bool, known: Collection[str]) -> str | None:
    """The entity named by one run of capitalised words, or ``None``."""
    last = _strip_possessive(words[-1])
    possessive = last != words[-1]
    words = [*words[:-1], last]
    while words and _strippable(words[0], initial):
        words = words[1:]
        initial = False
    while words and words[-1] in _CONNECTORS:
        words = words[:-1]
    if not words or all(w in TIME_WORDS for w in words):
        return None
    if len(words) == 1 and initial and not _named(words[0], possessive, known):
        return None
    return " ".join(words)


def _masked(text: str, found: list[tuple[int, str]]) -> str:
    """``text`` with URLs, e-mails and handles blanked out; those go to ``found``."""
    lowered = text.lower()
    for pattern, marks in _MASKS:
        if not any(mark in lowered for mark in marks):
            continue  # no match without one of these
        for match in pattern.finditer(text):
            found.append((match.start(), match[0].rstrip(".,;:!?)]}")))
            text = text[: match.start()] + " " * len(match[0]) + text[match.end() :]
    return text


def _evidence(spans: list[Span]) -> set[str]:
    """Single capitalised words used mid-sentence."""
    return {_strip_possessive(words[0]) for _, words, initial in spans
            if not initial and len(words) == 1}


def name_evidence(text: str) -> set[str]:
    """Capitalised words that ``text`` uses mid-sentence, i.e. likely names."""
    return _evidence(_spans(_masked(text, [])))


def extract_entities(text: str, known: Collection[str] = ()) -> list[str]:
    """Entities in ``text`` in order of first appearance (see the module docstring).

    ``known`` holds names from a wider context that count even at the start
    of a sentence.
    """
    found: list[tuple[int, str]] = []
    spans = _spans(_masked(text, found))
    evidence = _evidence(spans)
    names = evidence | set(known) if evidence else known
    for start, words, initial in spans:
        entity = _clean(words, initial, names)
        if entity is not None:
            found.append((start, entity))
    found.sort(key=lambda pair: pair[0])
    seen: set[str] = set()
    result: list[str] = []
    for _, entity in found:
        key = entity.casefold()
        if key not in seen:
            seen.add(key)
            result.append(entity)
    return result
