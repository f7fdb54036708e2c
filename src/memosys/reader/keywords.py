"""Deterministic keyword extraction (RAKE-like, no model).

Candidate phrases are runs of up to three content words between stopwords
and punctuation. A word scores its degree (the summed length of the phrases
it occurs in) over its frequency, a phrase the sum of its words, as in RAKE
(Rose et al., 2010). Plurals are folded for counting only ("dogs" counts as
"dog") and the first surface form is returned, in lowercase.
"""

from __future__ import annotations

import re
from functools import lru_cache

from memosys.reader.lexicon import STOPWORDS

_SEGMENT = re.compile(r"[^.,;:!?()\[\]{}\"“”…\n|/]+")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_MAX_PHRASE = 3
# words repeat across texts: the most recent ones are cached (86% of LoCoMo and
# LongMemEval tokens hit); few, as each entry is one more object for the GC to visit
_CACHED_WORDS = 4096


@lru_cache(maxsize=_CACHED_WORDS)
def fold(word: str) -> str:
    """A light lemma used to count variants together: plural endings are removed."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=_CACHED_WORDS)
def _content_word(token: str) -> str:
    """``token`` as a lowercase content word; empty for a stopword, number or short word."""
    word = _WORD.fullmatch(token.strip("'-*_~`"))
    lowered = word[0].lower().rstrip("'-") if word else ""
    lowered = lowered.removesuffix("'s")
    return "" if len(lowered) < 3 or lowered in STOPWORDS else lowered


def _phrases(text: str) -> list[list[str]]:
    """Runs of content words, lowercase, split at stopwords, punctuation and numbers."""
    phrases: list[list[str]] = []
    for segment in _SEGMENT.findall(text.replace("’", "'")):
        run: list[str] = []
        for token in segment.split():
            word = _content_word(token)
            if not word:
                if run:
                    phrases.append(run)
                run = []
                continue
            run.append(word)
            if len(run) == _MAX_PHRASE:
                phrases.append(run)
                run = []
        if run:
            phrases.append(run)
    return phrases


def extract_keywords(text: str, limit: int = 8) -> list[str]:
    """The ``limit`` best keywords or keyphrases of ``text``, best first."""
    phrases = _phrases(text)
    keys = [tuple(map(fold, phrase)) for phrase in phrases]
    freq: dict[str, int] = {}
    degree: dict[str, int] = {}
    for key in keys:
        for lemma in key:
            freq[lemma] = freq.get(lemma, 0) + 1
            degree[lemma] = degree.get(lemma, 0) + len(key)
    scored: dict[tuple[str, ...], tuple[float, int, str]] = {}
    for order, (phrase, key) in enumerate(zip(phrases, keys, strict=True)):
        if key not in scored:
            score = sum(degree[k] / freq[k] for k in key) + 0.5 * sum(freq[k] - 1 for k in key)
            scored[key] = (score, order, " ".join(phrase))
    chosen: list[str] = []
    covered: set[str] = set()
    for key, (_, _, surface) in sorted(scored.items(), key=lambda kv: (-kv[1][0], kv[1][1])):
        if covered.issuperset(key):
            continue
        chosen.append(surface)
        covered.update(key)
        if len(chosen) == limit:
            break
    return chosen
