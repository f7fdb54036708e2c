"""The content words of a query, and which of them a text contains.

The re-ranker's term coverage and each hit's ``matched_terms`` ask, for every
candidate, which query words its text holds: a word of the text (``\\w+``),
folded as the BM25 index folds it (:func:`~memosys.core.text_fold.fold`: case
and Latin diacritics, so "cafe" matches "Café" here as in BM25), equal to a
folded query word. Splitting long texts into words in Python
for that was most of a search's re-ranking time. An ASCII text (the common
case) is lower-cased once instead (for ASCII that changes letters only) and
each query word looked up as a substring whose neighbours are not word
characters, which finds the same words about eight times as fast; other texts
are split as before.

BM25 also matches another form of a word with the same Porter stem ("running"
for "run"). A hit's ``matched_terms`` name those too (:meth:`QueryTerms.matched_in`,
which asks FTS5 itself through :func:`~memosys.core.text_fold.bm25_matches`, for
the few hits shown, in the text the index holds: speaker and time words too); the
re-ranker's term coverage, a feature its weights were learned on, counts the same
words only (:meth:`QueryTerms.found_in`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from memosys.core.text_fold import bm25_matches, fold
from memosys.reader.lexicon import STOPWORDS

_WORD = re.compile(r"\w+")


class QueryTerms:
    """A query's words, folded (:func:`~memosys.core.text_fold.fold`), stopwords
    dropped (``terms``)."""

    def __init__(self, query: str) -> None:
        self.terms = frozenset(fold(w) for w in _WORD.findall(query)) - STOPWORDS
        # only an ASCII word can equal a folded word of an ASCII text
        self._ascii_terms = [t for t in self.terms if t.isascii()]

    def found_in(self, text: str) -> set[str]:
        """The terms that are words of ``text``."""
        if not text.isascii():
            return {w for w in (fold(w) for w in _WORD.findall(text)) if w in self.terms}
        lowered = text.lower()
        return {t for t in self._ascii_terms if t in lowered and _is_word_in(t, lowered)}

    def matched_in(self, texts: Sequence[str]) -> list[set[str]]:
        """The terms of each text as BM25 matches them: those :meth:`found_in` finds, and
        those the text holds in another form with the same stem ("run" in "running")."""
        found = [self.found_in(text) for text in texts]
        partly = [n for n, terms in enumerate(found) if len(terms) < len(self.terms)]
        stemmed = bm25_matches([texts[n] for n in partly], self.terms)
        for n, terms in zip(partly, stemmed, strict=True):
            found[n] |= terms
        return found


def _is_word_in(term: str, text: str) -> bool:
    """Whether ``term`` occurs in the ASCII ``text`` as a whole ``\\w+`` word."""
    start = text.find(term)
    while start != -1:
        end = start + len(term)
        if (start == 0 or not _word_char(text[start - 1])) and (
            end == len(text) or not _word_char(text[end])
        ):
            return True
        start = text.find(term, start + 1)
    return False


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"
