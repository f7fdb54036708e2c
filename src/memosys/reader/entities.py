"""Lightweight named-entity spotting (no model).

Entities are URLs, e-mail addresses, @handles, #hashtags and runs of
capitalised words ("New York", "Melanie Smith", "Bank of America"). A
capitalised word that only starts a sentence counts when it is not a common
word ("Thanks", "The", "Walking"), so "Caroline went home" yields "Caroline"
but "Anyway, it rained" yields nothing. Day and month names are left to the
time-expression reader. Results keep their original case, deduplicated
case-insensitively, in order of first appearance.
"""

from __future__ import annotations

import re

from memosys.reader.lexicon import SENTENCE_STARTERS, STOPWORDS, TIME_WORDS

_URL = re.compile(r"\bhttps?://[^\s<>\"']+|\bwww\.[^\s<>\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_HANDLE = re.compile(r"(?<![\w@#&])[@#][^\W\d_][\w.]*\w|(?<![\w@#&])[@#][^\W\d_]")
_WORD = re.compile(r"[^\W\d_]\w*(?:['’-]\w+)*")
_CONNECTORS = frozenset({"of", "de", "van", "von", "der", "den", "da", "del", "di", "la", "le"})
_OPENERS = frozenset(" \t\r\"'“‘(*_-–—")
_PRONOUNS = frozenset({"i", "i'm", "i've", "i'd", "i'll", "i’m", "i’ve", "i’d", "i’ll"})


def _is_capitalised(word: str) -> bool:
    return word[0].isupper()


def _common(word: str) -> bool:
    """A capitalised word that names nothing when it starts a sentence."""
    lowered = word.lower()
    return (
        word in SENTENCE_STARTERS
        or lowered in STOPWORDS
        or (len(word) > 5 and lowered.endswith(("ing", "ed", "ly")) and not word.isupper())
    )


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
        word, gap = match[0], text[last_end : match.start()].strip(" \t")
        last_end = match.end()
        adjacent = bool(current) and gap in ("", "&")
        if _is_capitalised(word) and word.lower() not in _PRONOUNS:
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


def _strippable(word: str, initial: bool, mid_sentence: set[str]) -> bool:
    """A leading word that is not part of the name ("Hey Caroline", "The Louvre", "OK")."""
    lowered = word.lower()
    if lowered in ("the", "a", "an") or (word.isupper() and lowered in STOPWORDS):
        return True
    return initial and word not in mid_sentence and (
        word in SENTENCE_STARTERS or lowered in STOPWORDS
    )


def _clean(words: list[str], initial: bool, mid_sentence: set[str]) -> str | None:
    """The entity named by one run of capitalised words, or ``None``."""
    words = [*words[:-1], _strip_possessive(words[-1])]
    while words and _strippable(words[0], initial, mid_sentence):
        words = words[1:]
        initial = False
    while words and words[-1] in _CONNECTORS:
        words = words[:-1]
    if not words or all(w in TIME_WORDS for w in words):
        return None
    if len(words) == 1 and initial and _common(words[0]) and words[0] not in mid_sentence:
        return None
    return " ".join(words)


def extract_entities(text: str) -> list[str]:
    """Entities in ``text`` in order of first appearance (see the module docstring)."""
    found: list[tuple[int, str]] = []
    masked = text
    for pattern in (_URL, _EMAIL, _HANDLE):
        for match in pattern.finditer(masked):
            value = match[0].rstrip(".,;:!?)]}")
            found.append((match.start(), value))
            masked = masked[: match.start()] + " " * len(match[0]) + masked[match.end() :]
    spans = _spans(masked)
    mid_sentence = {words[0] for _, words, initial in spans if not initial}
    for start, words, initial in spans:
        entity = _clean(words, initial, mid_sentence)
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
