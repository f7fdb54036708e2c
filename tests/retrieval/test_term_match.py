"""QueryTerms.found_in finds exactly the query words that are words of a text."""

from __future__ import annotations

import re

import pytest

from memosys.retrieval.term_match import QueryTerms

_QUERY = "Did Ana's e-mail about the café, C++ and foo_bar reach Straße 9 in ΟΔΟΣ or İstanbul?"
_TEXTS = [
    "ana sent an E-MAIL",
    "Ana's mail: about CAFÉ and cafe",
    "c++ is not foo_bar_baz, but foo_bar is; so is Foo_Bar.",
    "email emails anas mailbox 99 9x x9 _9_ 9",
    "",
    "straße STRASSE strasse",
    "οδος ΟΔΟΣ İSTANBUL istanbul",
    "the reach-out reached out to reach",
    "k\u212a \u017fome café",  # Kelvin sign, long s: case-fold traps for a case-insensitive regex
]


def _words_by_definition(query: str, text: str) -> set[str]:
    terms = QueryTerms(query).terms
    return {w.lower() for w in re.findall(r"\w+", text)} & terms


@pytest.mark.parametrize("text", _TEXTS)
def test_found_terms_are_the_query_words_among_the_texts_words(text: str) -> None:
    assert QueryTerms(_QUERY).found_in(text) == _words_by_definition(_QUERY, text)


def test_stopwords_are_not_terms() -> None:
    assert QueryTerms("What did the cat do?").terms == {"cat"}
    assert QueryTerms("the and of").found_in("the and of") == set()


def test_an_ascii_text_finds_whole_words_only() -> None:
    terms = QueryTerms("mail reach 9")
    assert terms.found_in("e-mail, reached 99, 9") == {"mail", "9"}
