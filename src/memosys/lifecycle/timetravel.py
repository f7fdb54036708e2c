"""Search as the memory stood at a past time (``search(..., as_of=T)``).

The live indexes (FTS5, vectors, HNSW) hold only current versions, so an
``as_of`` search does not use them. It reads every item of the scope as it
was at ``T`` (:meth:`~memosys.stores.base.VersionStore.texts_as_of`:
the text of the version current then, with the vector stored with that
version, so nothing is re-embedded) and scores them exactly: BM25 with an FTS5 index
built in memory over those texts (the same ``porter unicode61`` tokenizer
and query rules as the live index) and cosine similarity with numpy, fused
like a live search. The cost grows with the size of the scope (see
``benchmarks/results/lifecycle.json``): time travel is for audits and
questions about the past, not the hot path. A versions FTS table would make
every update write a second index entry to save this scan.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from memosys.core.errors import InvalidInputError
from memosys.core.filters import Filter
from memosys.core.results import Explain, SearchHit
from memosys.models.embedders.base import Embedder
from memosys.retrieval.fusion import rrf, weighted
from memosys.settings import RetrievalSettings
from memosys.stores.base import Scope, ScoredId, Vectors, VersionStore
from memosys.stores.sqlite.fts import fts_query, query_terms

_WORD = re.compile(r"\w+", re.UNICODE)


def search_as_of(
    versions: VersionStore,
    embedder: Embedder,
    settings: RetrievalSettings,
    scope: Scope,
    query: str,
    filters: Filter | None,
    *,
    at: datetime,
    top_k: int,
    mode: str,
    fusion: str | None,
) -> list[SearchHit]:
    """The ``top_k`` best items for ``query`` among those visible at ``at``."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError("query is empty; pass the text to search for")
    candidates = versions.texts_as_of(scope, at, filters)
    if not candidates:
        return []
    limit = max(settings.candidates, top_k)
    lists: dict[str, Sequence[ScoredId]] = {}
    if mode in ("hybrid", "bm25"):
        lists["bm25"] = bm25_ranking([(i, text) for i, text, _ in candidates], query, limit)
    if mode in ("hybrid", "dense"):
        query_vector = embedder.embed([query], purpose="query")[0]
        lists["dense"] = dense_ranking([(i, vec) for i, _, vec in candidates], query_vector, limit)
    weights = {"bm25": settings.bm25_weight, "dense": settings.dense_weight}
    method = fusion or settings.fusion
    if method == "weighted":
        fused = weighted(lists, weights)
    else:
        fused = rrf(lists, settings.rrf_k, weights)
    fused = fused[:top_k]
    if not fused:
        return []
    items = {item.id: item for item in versions.get_as_of(scope, at, [f.id for f in fused])}
    top = fused[0].score if fused and fused[0].score > 0 else 1.0
    terms = {t.lower() for t in _WORD.findall(query)}
    return [
        SearchHit(
            item=items[entry.id],
            score=entry.score / top,
            explain=Explain(
                retrievers=entry.matches,
                fusion=method if mode == "hybrid" else mode,
                fused_score=entry.score,
                matched_terms=sorted(
                    terms & {w.lower() for w in _WORD.findall(items[entry.id].content)}
                ),
            ),
        )
        for entry in fused
        if entry.id in items
    ]


def bm25_ranking(texts: Sequence[tuple[str, str]], query: str, limit: int) -> list[ScoredId]:
    """BM25 of ``query`` over ``(id, text)`` pairs, best first (an in-memory FTS5 index)."""
    match = fts_query(query_terms(query))
    if not match:
        return []
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE VIRTUAL TABLE texts USING fts5 (body, tokenize = 'porter unicode61')")
        conn.executemany(
            "INSERT INTO texts (rowid, body) VALUES (?, ?)",
            [(n, text) for n, (_, text) in enumerate(texts)],
        )
        rows = conn.execute(
            "SELECT rowid, -bm25(texts) FROM texts WHERE texts MATCH ? ORDER BY bm25(texts) "
            "LIMIT ?",
            (match, limit),
        ).fetchall()
    finally:
        conn.close()
    return [ScoredId(texts[n][0], float(score)) for n, score in rows]


def dense_ranking(
    vectors: Sequence[tuple[str, Vectors | None]], query: Vectors, limit: int
) -> list[ScoredId]:
    """Cosine similarity of the stored version vectors to ``query``, best first.

    Versions without a vector, or with one of another size (made by an
    earlier embedder), are left out of the dense ranking.
    """
    dim = query.shape[-1]
    kept = [(i, vec) for i, vec in vectors if vec is not None and vec.shape == (dim,)]
    if not kept:
        return []
    matrix = np.stack([vec for _, vec in kept])
    scores = matrix @ query.astype(np.float32)
    order = np.argsort(-scores, kind="stable")[:limit]
    return [ScoredId(kept[n][0], float(scores[n])) for n in order]
