"""Free text to a safe, bounded FTS5 query.

Every token is quoted, so user text can never be read as FTS5 syntax (``AND``,
``NEAR``, ``*``, ``:`` or unbalanced quotes). Punctuation goes (it separates
tokens, as in the ``unicode61`` tokenizer), English stopwords go unless
nothing else is left, and the terms are joined with ``OR``: BM25 then ranks
documents that match more, and rarer, terms first. An AND of every word is
too strict for recall on natural-language questions. Python code that compares
words as this index does (case and accents folded) uses
:func:`memosys.core.text_fold.fold`.

An OR of common words matches most of a large database, and FTS5 computes
BM25 for every match (about 2 microseconds per document and term). So the
candidates come from the rarest terms only, chosen by document frequency
until their documents add up to a posting budget (:func:`choose_terms`), and
the common terms still add to the score of those candidates:
``(rare) AND (rare OR common)`` (:func:`bounded_query`). Rare terms then count
twice, which only sharpens the weight BM25 already gives them;
``benchmarks/store_bench.py`` measures the top-10 overlap with the unbounded
query. :mod:`.text_mirror` scores the same bounded query in memory, with the
same results, without FTS5's B-tree lookup per match.
"""

from __future__ import annotations

import re
import sqlite3

MAX_TERMS = 32
POSTING_BUDGET = 10_000

# Letters and digits, as unicode61 sees tokens (underscore separates).
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)

STOPWORDS = frozenset(
    {
        "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
        "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
        "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
        "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself",
        "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself",
        "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off",
        "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own",
        "same", "she",
        "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
        "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too",
        "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which",
        "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
        "yourselves", "s", "t", "d", "ll", "m", "re", "ve",
    }
)


def query_terms(text: str) -> list[str]:
    """The distinct lower-cased search terms of ``text``, stopwords dropped when others remain."""
    tokens = list(dict.fromkeys(t.lower() for t in _TOKEN.findall(text)))
    content = [t for t in tokens if t not in STOPWORDS]
    return (content or tokens)[:MAX_TERMS]


def fts_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression that ORs the quoted terms (empty when there are none)."""
    return " OR ".join(f'"{term}"' for term in terms)


def bounded_query(terms: list[str], doc_freqs: list[int]) -> str:
    """The MATCH expression whose candidates are the rare terms' documents (see above)."""
    rare, common = split_terms(terms, doc_freqs)
    if not common:
        return fts_query(rare)
    return f"({fts_query(rare)}) AND ({fts_query(rare + common)})"


def split_terms(terms: list[str], doc_freqs: list[int]) -> tuple[list[str], list[str]]:
    """The rare terms (:func:`choose_terms`) and the other terms that occur, of
    :func:`bounded_query`; its BM25 phrases are ``rare``, then ``rare + common``
    when ``common`` is not empty."""
    rare = choose_terms(terms, doc_freqs)
    common = [t for t, df in zip(terms, doc_freqs, strict=True) if df > 0 and t not in rare]
    return rare, common


def choose_terms(terms: list[str], doc_freqs: list[int], budget: int | None = None) -> list[str]:
    """Terms that occur, rarest first, while their document counts fit the budget.

    The budget defaults to :data:`POSTING_BUDGET`. The rarest term is always
    kept; terms no document contains are dropped.
    """
    budget = POSTING_BUDGET if budget is None else budget
    ranked = sorted((df, n) for n, df in enumerate(doc_freqs) if df > 0)
    chosen: list[int] = []
    total = 0
    for df, n in ranked:
        if chosen and total + df > budget:
            break
        chosen.append(n)
        total += df
    return [terms[n] for n in sorted(chosen)]


def capped(count: int) -> int:
    """A document count as :func:`doc_freqs` reports it (it stops counting past the budget)."""
    return min(count, POSTING_BUDGET + 1)


def doc_freqs(conn: sqlite3.Connection, terms: list[str]) -> list[int]:
    """How many items contain each term, counted only up to ``POSTING_BUDGET + 1``.

    Counting stops at the cap, so a term in most of a large database costs
    as little as a rare one; :func:`choose_terms` needs no more than that.
    """
    cap = POSTING_BUDGET + 1
    return [
        int(
            conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM items_fts WHERE items_fts MATCH ? LIMIT ?)",
                (fts_query([term]), cap),
            ).fetchone()[0]
        )
        for term in terms
    ]
