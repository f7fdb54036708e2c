"""What FTS5 knows about ``items_fts``, read from Python: its tokens and its BM25 statistics.

Tokens always come from FTS5 itself (a private in-memory FTS5 table with the
live index's tokenizer, :func:`memosys.core.text_fold.thread_scratch`), never
from a re-implementation of ``porter unicode61``; the row and token totals
come from the index's own averages record. :mod:`.as_of_search` and
:mod:`.text_mirror` score with these, so their BM25 equals FTS5's ``bm25()``.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter

from memosys.core.text_fold import thread_scratch

# FTS5's bm25() constants (fts5_aux.c)
K1 = 1.2
B = 0.75
MIN_IDF = 1e-6
_AVERAGES_ROWID = 1  # the FTS5 record of the row count and total tokens


def idf(rows: int, hits: int) -> float:
    """FTS5's inverse document frequency of a phrase that ``hits`` of ``rows`` rows contain."""
    value = math.log((rows - hits + 0.5) / (hits + 0.5))
    return value if value > 0.0 else MIN_IDF


def tokenize(texts: list[str], terms: list[str]) -> tuple[dict[str, str], list[Counter[str]]]:
    """Each term's first token ("" when the tokenizer drops it) and each text's token counts,
    by the live index's tokenizer."""
    tokens, counts = token_lists(texts, terms)
    return {t: found[0] if found else "" for t, found in tokens.items()}, counts


def token_lists(
    texts: list[str], terms: list[str]
) -> tuple[dict[str, list[str]], list[Counter[str]]]:
    """Every token of each term, in order, and each text's token counts (see :func:`tokenize`)."""
    with thread_scratch() as mem:
        mem.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)",
                        [*enumerate(texts, 1), *((-n, term) for n, term in enumerate(terms, 1))])
        instances = mem.execute("SELECT doc, term FROM vocab ORDER BY doc, offset").fetchall()
    counts: list[Counter[str]] = [Counter() for _ in texts]
    found: dict[int, list[str]] = {}
    for doc, token in instances:
        if doc > 0:
            counts[doc - 1][token] += 1
        else:
            found.setdefault(-doc, []).append(token)
    return {term: found.get(n, []) for n, term in enumerate(terms, 1)}, counts


def live_totals(conn: sqlite3.Connection) -> tuple[int, int]:
    """Rows and tokens of the live FTS5 index (its averages record: two varints)."""
    row = conn.execute(
        "SELECT block FROM items_fts_data WHERE id = ?", (_AVERAGES_ROWID,)
    ).fetchone()
    if row is None:
        return 0, 0
    values = varints(bytes(row[0]))
    return (values[0], values[1]) if len(values) >= 2 else (0, 0)


def varints(blob: bytes) -> list[int]:
    """SQLite's variable-length integers (big-endian 7-bit groups; a 9th byte has 8 bits)."""
    values, at = [], 0
    while at < len(blob):
        value = 0
        for n in range(9):
            byte = blob[at]
            at += 1
            if n == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        values.append(value)
    return values
