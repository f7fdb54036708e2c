"""QueryTerms.found_in finds exactly the query words that are words of a text."""

from __future__ import annotations

import re

import pytest

from fresh_imports import modules_after
from memosys.core.text_fold import fold
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
    return {fold(w) for w in re.findall(r"\w+", text)} & terms


@pytest.mark.parametrize("text", _TEXTS)
def test_found_terms_are_the_query_words_among_the_texts_words(text: str) -> None:
    assert QueryTerms(_QUERY).found_in(text) == _words_by_definition(_QUERY, text)


def test_stopwords_are_not_terms() -> None:
    assert QueryTerms("What did the cat do?").terms == {"cat"}
    assert QueryTerms("the and of").found_in("the and of") == set()


def test_an_ascii_text_finds_whole_words_only() -> None:
    terms = QueryTerms("mail reach 9")
    assert terms.found_in("e-mail, reached 99, 9") == {"mail", "9"}


def test_terms_fold_case_and_accents_as_the_bm25_tokenizer_does() -> None:
    terms = QueryTerms("Café CRÈME naïve Straße İstanbul")
    assert terms.terms == {"cafe", "creme", "naive", "straße", "istanbul"}
    assert terms.found_in("cafe creme") == {"cafe", "creme"}  # ASCII text, accented query
    assert QueryTerms("cafe Istanbul").found_in("le CAFÉ d'İstanbul") == {"cafe", "istanbul"}
    assert QueryTerms("cafe").found_in("cafe\u0301") == {"cafe"}  # a combining accent


# Unicode 6.1 blocks where unicode61 folds: Latin-1 to Latin Extended-B, IPA, Greek,
# Cyrillic (to U+0527) and Latin Extended Additional; later additions it does not know
_BLOCKS = [(0xC0, 0x250), (0x250, 0x2B0), (0x370, 0x37F), (0x380, 0x528), (0x1E00, 0x1F00)]


def test_fold_is_the_fts5_unicode61_folding_of_every_letter() -> None:
    import sqlite3

    letters = [chr(c) for a, b in _BLOCKS for c in range(a, b) if chr(c).isalpha()]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5 (body, tokenize = 'unicode61')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')")
    conn.execute("INSERT INTO t VALUES (?)", (" ".join(f"q{c}z" for c in letters),))
    tokens = [term for (term,) in conn.execute("SELECT term FROM v ORDER BY offset")]
    conn.close()
    assert len(tokens) == len(letters)  # each letter is part of its word
    assert {c: fold(f"q{c}z") for c in letters} == dict(zip(letters, tokens, strict=True))


def test_term_matching_does_not_load_the_sqlite_store() -> None:
    loaded = modules_after("import memosys.retrieval.term_match")
    assert sorted(m for m in loaded if m.startswith("memosys.stores")) == []


def test_matched_terms_take_in_other_forms_of_a_word_as_bm25_does() -> None:
    terms = QueryTerms("Did the runner run to the café?")
    texts = ["Ana was running", "runners, CAFES", "ran", "", "the run"]
    assert terms.matched_in(texts) == [{"run"}, {"runner", "cafe"}, set(), set(), {"run"}]
    assert terms.matched_in([]) == []
