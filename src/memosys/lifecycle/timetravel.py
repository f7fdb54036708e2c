"""Search as the memory stood at a past time (``search(..., as_of=T)``).

The store ranks the scope as it was at ``T``
(:meth:`~memosys.stores.base.VersionStore.rank_as_of`): items unchanged
since ``T`` through the live full-text and vector indexes, items changed
since through the versions current then (with the vectors stored with
them, so nothing is re-embedded). The rankings are fused like a live
search, without re-ranking. The cost is about that of a live search plus
the work for each item changed since ``T`` (see
``benchmarks/results/lifecycle.json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from memosys.core.errors import InvalidInputError
from memosys.core.filters import Filter
from memosys.core.results import Explain, SearchHit
from memosys.models.embedders.base import Embedder
from memosys.retrieval.fusion import rrf, weighted
from memosys.retrieval.term_match import QueryTerms
from memosys.settings import RetrievalSettings
from memosys.stores.base import Scope, ScoredId, Vectors, VersionStore


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
    query_vector: Vectors | None = None,
) -> list[SearchHit]:
    """The ``top_k`` best items for ``query`` among those visible at ``at`` (``query_vector``:
    the query's embedding, when the caller gave it)."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError("query is empty; pass the text to search for")
    vector = None
    if mode in ("hybrid", "dense"):
        vector = query_vector
        if vector is None:
            vector = embedder.embed([query], purpose="query")[0]
    lists: dict[str, Sequence[ScoredId]] = dict(versions.rank_as_of(
        scope, at, filters, query=query if mode in ("hybrid", "bm25") else None, vector=vector,
        limit=max(settings.candidates, top_k),
    ))
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
    shown = [entry for entry in fused if entry.id in items]
    # as a live search reads them: stopwords are no match, another form of a word is
    matched = QueryTerms(query).matched_in([items[entry.id].search_text() for entry in shown])
    return [
        SearchHit(
            item=items[entry.id],
            score=entry.score / top,
            explain=Explain(
                retrievers=entry.explained(),
                fusion=method if mode == "hybrid" else mode,
                fused_score=entry.score,
                matched_terms=sorted(terms),
            ),
        )
        for entry, terms in zip(shown, matched, strict=True)
    ]

