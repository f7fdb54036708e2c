"""Regular-expression pieces shared by the slot patterns (:mod:`.slots`, :mod:`.slot_cues`).

Every slot pattern names a ``subj`` group (who the fact is about; empty where
a chat sentence starts without one: "Picked up my new Kia today") and a
``value`` group; an optional ``kind`` group refines the slot.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from importlib import import_module
from typing import Any

RELATIVES = (
    "sister|brother|mom|mum|mother|dad|father|son|daughter|wife|husband|partner|"
    "girlfriend|boyfriend|friend|boss|cousin|aunt|uncle|grandma|grandpa|roommate"
)
NAME = r"[A-Z][a-z]+(?: [A-Z][a-z]+)?"
#: a subject before a verb: I / we / a name / my sister
S = rf"(?P<subj>\bI\b|\b[Ww]e\b|\b[Mm]y (?:{RELATIVES})\b|\b{NAME})"
#: a possessive subject: my / our / Alice's / my sister's
P = rf"(?P<subj>\b[Mm]y\b|\b[Oo]ur\b|\b[Mm]y (?:{RELATIVES})['’]s|\b{NAME}['’]s)"
#: an object that is the subject: "hired me", "made Tom"
OBJ = rf"(?P<subj>\bme\b|\bus\b|\b{NAME})"
#: no subject: the sentence starts with the verb (a chat message about its speaker)
NONE = r"^(?P<subj>)(?:(?i:finally|just|so|and|well|also|today|yesterday|recently),? )*"
END = (
    r"now|currently|since|because|and|but|with|last|this|next|for|when|after|before|where|"
    r"which|who|so|as|from|ago|recently|yesterday|today|already|again|too|though|anymore|"
    r"in \d{4}|at the moment|these days|a (?:few|couple)|about|around|nearby|near|"
    r"every|lately|right now|on the|at the|in the"
)
#: a value: a short phrase up to punctuation or a word that ends the phrase
V = rf"(?P<value>[^\n,.;:!?()\"]+?)(?=\s*(?:[,.;:!?()\"\n]|$)|\s+(?:{END})\b)"
#: a proper-noun value: capitalised words, with numbers and hyphens ("Tesla Model 3")
PROPER = r"(?P<value>[A-Z][\w&'’-]*(?: (?:[A-Z][\w&'’-]*|\d[\w-]*|of|&|and)(?=\W|$))*)"
EMAIL = r"(?P<value>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
PHONE = r"(?P<value>\+?\d[\d\s().-]{5,}\d)"
NUMBER = r"(?P<value>\d{1,3})"
ADV = r"(?:(?:now|currently|recently|just|finally|also|actually|officially) )*"
HAVE = r"(?: have| has| had|'ve|’ve)?"  # glued to the subject: "I've", "I have"
BE = r"(?: am| is| are|'m|’m|'re|’re|'s|’s)"
AUX = rf"(?:{BE}|{HAVE} been)?"
A = r"(?:(?:a|an|the) )?(?:new )?"
PETS = r"dog|puppy|cat|kitten|pet|hamster|parrot|rabbit|bunny|bird|fish|turtle|horse"
PARTNERS = r"girlfriend|boyfriend|partner|wife|husband|fianc[eé]e?|spouse"


Compiled = tuple[str, re.Pattern[str], str | None, frozenset[str]]
"""A slot row compiled: slot, pattern, value shape, and :func:`needles`."""

MIN_NEEDLE = 3  # shorter literal text ("a ", "is") is in almost every sentence
# the parser of `re` itself (private, untyped; stable since 3.11), read by needles()
_re_parser: Any = import_module("re._parser")
_re_constants: Any = import_module("re._constants")


def compile_all(patterns: tuple[tuple[str, str, str | None], ...]) -> tuple[Compiled, ...]:
    """``(slot, pattern, value shape)`` rows with their patterns compiled and their needles."""
    return tuple(
        (slot, re.compile(pattern), shape, frozenset(needles(pattern)))
        for slot, pattern, shape in patterns
    )


class NeedleIndex:
    """Compiled rows by needle: which of them a sentence can match, from the needles it holds."""

    def __init__(self, rows: tuple[Compiled, ...]) -> None:
        self._rows = rows
        self._unguarded = frozenset(i for i, row in enumerate(rows) if not row[3])
        self._unguarded_rows = tuple(rows[i] for i in sorted(self._unguarded))
        self._by_needle: dict[str, list[int]] = {}
        for i, (_, _, _, found) in enumerate(rows):
            for needle in found:
                self._by_needle.setdefault(needle, []).append(i)

    def runnable(self, present: Collection[str]) -> Sequence[Compiled]:
        """The rows, in order, that have no needles or one of ``present`` (the needles of
        all rows that a sentence contains); the others cannot match it."""
        if not present:
            return self._unguarded_rows
        picked = set(self._unguarded)
        for needle in present:
            picked.update(self._by_needle.get(needle, ()))
        return [self._rows[i] for i in sorted(picked)]


def needles(pattern: str) -> tuple[str, ...]:
    """Texts one of which every match of ``pattern`` contains (empty: none known).

    Read from the parsed pattern: the most selective run of literal text, or
    alternation of runs, that no match can skip. A sentence with none of them
    cannot match, so :mod:`.slots` skips the pattern without running it.
    """
    return _required(_re_parser.parse(pattern).data) or ()


def _required(items: Any) -> tuple[str, ...] | None:
    best: tuple[str, ...] | None = None
    run = ""

    def consider(options: tuple[str, ...] | None) -> None:
        nonlocal best
        if options and min(map(len, options)) >= MIN_NEEDLE and (
            best is None or min(map(len, options)) > min(map(len, best))
        ):
            best = options

    for op, arg in items:
        if op is _re_constants.LITERAL:
            run += chr(arg)
            continue
        consider((run,) if run else None)
        run = ""
        if op is _re_constants.SUBPATTERN and not arg[1] & re.IGNORECASE:
            consider(_required(arg[3].data))
        elif op in (_re_constants.MAX_REPEAT, _re_constants.MIN_REPEAT) and arg[0] >= 1:
            consider(_required(arg[2].data))
        elif op is _re_constants.BRANCH:
            branches = [_required(branch.data) for branch in arg[1]]
            if all(branches):
                consider(tuple(dict.fromkeys(n for b in branches if b for n in b)))
    consider((run,) if run else None)
    return best
