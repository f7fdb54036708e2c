"""Words as the full-text (BM25) index reads them, for code outside the store.

The SQLite store's ``items_fts`` index (FTS5, ``unicode61`` tokenizer) matches
words case- and accent-blind. Code that asks which words BM25 matched (a
search hit's ``matched_terms``, the re-ranker's term coverage) must compare
words the same way, without loading the store: it folds them with
:func:`fold`. Pure functions, no I/O: retrieval and the store both import
this module, neither imports the other for it.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


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
