"""Words as the full-text (BM25) index reads them, for code outside the store.

The SQLite store's ``items_fts`` index (FTS5, ``porter unicode61`` tokenizer)
matches words case- and accent-blind, and by their Porter stem ("running"
matches "run"). Code that asks which words BM25 matched (a search hit's
``matched_terms``, the re-ranker's term coverage) must compare words the same
way, without loading the store: :func:`fold` folds case and accents as
``unicode61`` does, and :func:`bm25_matches` asks FTS5 itself, in a private
in-memory table with the index's tokenizer (:func:`thread_scratch`, which the
store's BM25 mirror tokenizes with too), which terms a text matches. Nothing
here touches a file: retrieval and the store both import this module, neither
imports the other for it.
"""

from __future__ import annotations

import sqlite3
import threading
import unicodedata
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

TOKENIZER = "porter unicode61"  # the tokenizer of the SQLite store's items_fts (migration 0001)


def fold(word: str) -> str:
    """``word`` as the index's ``unicode61`` tokenizer folds it: case folded and the
    diacritic of a Latin letter removed ("Café" -> "cafe", "İstanbul" -> "istanbul",
    "ß" and "ø" kept), as its default ``remove_diacritics 1`` does.

    Python code that compares words the way BM25 matched them (a hit's matched
    terms) folds them with this. Characters added to Unicode after 6.1, which
    ``unicode61`` does not know, are folded by Python's newer tables.
    """
    if word.isascii():
        return word.lower()
    return "".join(_fold_char(char) for char in word)


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    folded = char.casefold()
    if len(folded) != 1:  # unicode61 maps one character to one: "ß" stays, "İ" is lowered
        folded = char.lower()
        if len(folded) != 1:
            return "".join(_fold_char(c) for c in folded)
    if 0x300 <= ord(folded) <= 0x36F:  # a combining diacritic on its own is dropped
        return ""
    parts = unicodedata.decomposition(folded).split()
    if len(parts) == 2 and not parts[0].startswith("<"):  # a letter and one diacritic
        base, mark = (chr(int(part, 16)) for part in parts)
        if base.isascii() and 0x300 <= ord(mark) <= 0x36F:
            return base
    return folded


def _new_scratch() -> sqlite3.Connection:
    """An in-memory database with one FTS5 table ``t (body)``, tokenized as the index is,
    and ``vocab``, the ``fts5vocab`` table of its token instances."""
    mem = sqlite3.connect(":memory:")
    mem.execute(f"CREATE VIRTUAL TABLE t USING fts5 (body, tokenize = '{TOKENIZER}')")
    mem.execute("CREATE VIRTUAL TABLE vocab USING fts5vocab (t, 'instance')")
    return mem


_scratch = threading.local()  # each thread's scratch index (0.25 to 0.5 ms to create)


@contextmanager
def thread_scratch() -> Iterator[sqlite3.Connection]:
    """This thread's scratch index (``t`` and ``vocab``, see :func:`_new_scratch`), empty:
    what the block writes to it is never committed, and is rolled back after it."""
    mem: sqlite3.Connection | None = getattr(_scratch, "mem", None)
    if mem is None:
        mem = _scratch.mem = _new_scratch()
    try:
        yield mem
    finally:
        mem.rollback()


def bm25_matches(texts: Sequence[str], terms: Collection[str]) -> list[set[str]]:
    """For each text, the ``terms`` that the BM25 index would match in it: FTS5 matches each
    term, quoted, as a search matches a query word ("run" matches "running", "cafe" "Café")."""
    found: list[set[str]] = [set() for _ in texts]
    if not texts or not terms:
        return found
    with thread_scratch() as mem:
        mem.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)", enumerate(texts))
        for term in terms:
            phrase = '"' + term.replace('"', '""') + '"'
            for (row,) in mem.execute("SELECT rowid FROM t WHERE t MATCH ?", (phrase,)):
                found[row].add(term)
    return found
