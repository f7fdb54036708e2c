"""Free text to a safe FTS5 query.

Every token is quoted, so user text can never be read as FTS5 syntax (``AND``,
``NEAR``, ``*``, ``:`` or unbalanced quotes). Punctuation goes (it separates
tokens, as in the ``unicode61`` tokenizer), English stopwords go unless
nothing else is left, and the terms are joined with ``OR``: BM25 then ranks
documents that match more, and rarer, terms first. An AND of every word is
too strict for recall on natural-language questions.
"""

from __future__ import annotations

import re

MAX_TERMS = 32

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
