"""The search pipeline: fan out to the retrievers, fuse, re-score, explain.

Isolation is the store's job (every retriever query carries the scope);
this module decides *how* the retrievers' results become one ranking.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np

from memosys.core.checks import is_number, is_whole
from memosys.core.clock import Clock
from memosys.core.errors import InputTooLargeError, InvalidInputError
from memosys.core.filters import Filter, In, Not, combine
from memosys.core.items import LifecycleState, MemoryItem
from memosys.core.results import Explain, SearchHit, SessionHit
from memosys.models.embedders.base import Embedder
from memosys.reader.validate import check_text
from memosys.retrieval.fusion import Fused, rrf, weighted
from memosys.retrieval.rerank import Candidate, Place, adjacent_places, bundled_reranker, place
from memosys.retrieval.term_match import QueryTerms
from memosys.settings import RetrievalSettings
from memosys.stores.base import Scope, ScoredId, Store, Vectors

Mode = Literal["hybrid", "bm25", "dense"]
FusionName = Literal["rrf", "weighted"]

RECENCY_HALF_LIFE_DAYS = 30.0
SESSION_DECAY = 0.5


@dataclass(frozen=True)
class SearchOptions:
    """Per-query knobs; see :meth:`memosys.MemOS.search`."""

    top_k: int = 10
    mode: Mode = "hybrid"
    fusion: FusionName | None = None
    recency_weight: float = 0.0
    importance_weight: float = 0.0
    mmr: float | None = None
    neighbours: int = 0
    # the query's embedding, given (checked) by the caller; an array: not compared or hashed
    query_vector: Vectors | None = field(default=None, compare=False)

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` for out-of-range options."""
        if not isinstance(self.top_k, int) or isinstance(self.top_k, bool) or self.top_k < 1:
            raise InvalidInputError(f"top_k must be a positive integer, got {self.top_k!r}")
        if self.mode not in ("hybrid", "bm25", "dense"):
            raise InvalidInputError(f"mode must be hybrid, bm25 or dense, got {self.mode!r}")
        if self.fusion not in (None, "rrf", "weighted"):
            raise InvalidInputError(f"fusion must be rrf or weighted, got {self.fusion!r}")
        for name in ("recency_weight", "importance_weight"):
            value = getattr(self, name)
            if not is_number(value) or not 0 <= value < math.inf:
                raise InvalidInputError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.mmr is not None and (
            not is_number(self.mmr) or not 0.0 <= self.mmr <= 1.0
        ):
            raise InvalidInputError(f"mmr must be between 0 and 1, got {self.mmr!r}")
        neighbours = self.neighbours
        if not is_whole(neighbours) or neighbours < 0:
            raise InvalidInputError(f"neighbours must be an integer >= 0, got {self.neighbours!r}")


def _mentions_state(node: Filter | None) -> bool:
    if node is None:
        return False
    field = getattr(node, "field", None)
    if field == "state":
        return True
    children = getattr(node, "children", None) or ()
    child = getattr(node, "child", None)
    return any(_mentions_state(c) for c in (*children, child) if c is not None)


def visible_filter(
    filters: Filter | None, *, include_history: bool = False, include_archived: bool = False
) -> Filter | None:
    """The caller's filter plus the states it may see, unless it names ``state`` itself.

    Current memories only by default; ``include_history`` adds superseded and
    merged ones (earlier knowledge), ``include_archived`` archived ones.
    Deleted memories (tombstones) are never visible.
    """
    if _mentions_state(filters):
        return filters
    hidden = [LifecycleState.DELETED]
    if not include_history:
        hidden += [LifecycleState.SUPERSEDED, LifecycleState.MERGED]
    if not include_archived:
        hidden.append(LifecycleState.ARCHIVED)
    return combine(Not(In("state", tuple(s.value for s in hidden))), filters)


def searches_at_once(settings: RetrievalSettings, processes: int = 1) -> int:
    """How many searches run at once in a process (``concurrent_searches``; 0: the CPUs,
    shared among ``processes`` that serve together)."""
    return settings.concurrent_searches or max(1, (os.cpu_count() or 1) // processes)


_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _background() -> ThreadPoolExecutor:
    """The worker threads that embed queries (started on first use)."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = ThreadPoolExecutor(max_workers=4, thread_name_prefix="memosys-query")
        return _worker


class Retriever:
    """Hybrid search over one store with one embedder."""

    def __init__(
        self, store: Store, embedder: Embedder, settings: RetrievalSettings, clock: Clock
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._settings = settings
        self._clock = clock
        self._turns = threading.BoundedSemaphore(searches_at_once(settings))

    def search(
        self, scope: Scope, query: str, filters: Filter | None, options: SearchOptions
    ) -> list[SearchHit]:
        """Ranked hits for ``query`` inside ``scope``."""
        options.validate()
        shown = visible_filter(filters)
        query = checked_query(query, self._settings.max_query_chars)
        rescoring = options.recency_weight or options.importance_weight or options.mmr is not None
        with self._turns:
            fused = self._fuse(scope, query, shown, options)
            pool = fused[: max(options.top_k * 5, 50)] if rescoring else fused[: options.top_k]
            hits = self._ranked(scope, fused, pool, shown, query, options)
            if options.mmr is not None:
                hits = self._mmr(hits, options.mmr, options.top_k)
            hits = hits[: options.top_k]
            if options.neighbours:
                hits = self._with_neighbours(scope, hits, options.neighbours)
        return hits

    def search_sessions(
        self, scope: Scope, query: str, filters: Filter | None, top_k: int, mode: Mode,
        query_vector: Vectors | None = None,
    ) -> list[SessionHit]:
        """Sessions ranked by their message hits: each session scores
        ``sum(score_i * 0.5**i)`` over its hits in rank order."""
        options = SearchOptions(top_k=top_k, mode=mode, query_vector=query_vector)
        options.validate()
        shown = visible_filter(filters)
        query = checked_query(query, self._settings.max_query_chars)
        with self._turns:
            fused = self._fuse(scope, query, shown, options)
            hits = self._ranked(scope, fused, fused, shown, query, options)
        sessions: dict[str, SessionHit] = {}
        for hit in hits:
            key = hit.item.session_id or hit.item.id
            session = sessions.setdefault(key, SessionHit(session_id=key, score=0.0))
            session.score += hit.score * SESSION_DECAY ** len(session.hits)
            session.hits.append(hit)
        ranked = sorted(sessions.values(), key=lambda s: -s.score)
        return ranked[:top_k]

    # -- steps ---------------------------------------------------------------

    def _fuse(
        self, scope: Scope, query: str, filters: Filter | None, options: SearchOptions
    ) -> list[Fused]:
        limit = max(self._settings.candidates, options.top_k)
        lists: dict[str, Sequence[ScoredId]] = {}
        embedding: Future[Vectors] | None = None
        if options.mode == "hybrid" and options.query_vector is None:
            # The query embeds on a worker thread while BM25 runs here: both
            # release the GIL, so with two cores the embedding adds no latency.
            embedding = _background().submit(self._embedder.embed, [query], "query")
        if options.mode in ("hybrid", "bm25"):
            lists["bm25"] = self._store.text_search(scope, query, filters, limit)
        if options.mode in ("hybrid", "dense"):
            vector = options.query_vector
            if vector is None and embedding is not None:
                vector = embedding.result()[0]
            elif vector is None:
                vector = self._embedder.embed([query], "query")[0]
            lists["dense"] = self._store.vector_search(scope, vector, filters, limit)
        weights = {"bm25": self._settings.bm25_weight, "dense": self._settings.dense_weight}
        method = options.fusion or self._settings.fusion
        if method == "weighted":
            return weighted(lists, weights)
        return rrf(lists, self._settings.rrf_k, weights)

    def _ranked(
        self,
        scope: Scope,
        fused: Sequence[Fused],
        pool: Sequence[Fused],
        filters: Filter | None,
        query: str,
        options: SearchOptions,
    ) -> list[SearchHit]:
        """Hits in final order: re-ranked with context for hybrid search, else by fused score."""
        if options.mode == "hybrid" and self._settings.rerank == "context":
            candidates = self.candidates(scope, fused[: self._settings.rerank_pool], filters)
            scores = bundled_reranker().scores(query, candidates)
            ranked = sorted(zip(candidates, scores, strict=True), key=lambda pair: -pair[1])
            ranked = ranked[: len(pool)]
            items = self._items(scope, [c.item.id for c, _ in ranked])
            scored = [(items[c.item.id], c, s) for c, s in ranked if c.item.id in items]
            return self._hits(scored, query, options, reranker="context")
        items = self._items(scope, [f.id for f in pool])
        top = pool[0].score if pool and pool[0].score > 0 else 1.0
        found = [(items[f.id], f) for f in pool if f.id in items]
        by_fused = [(item, Candidate(item, f), f.score / top) for item, f in found]
        return self._hits(by_fused, query, options, reranker=None)

    def _items(self, scope: Scope, ids: list[str]) -> dict[str, MemoryItem]:
        return {item.id: item for item in self._store.get_items(scope, ids)}

    def fused(self, scope: Scope, query: str, filters: Filter | None, mode: Mode) -> list[Fused]:
        """The retrievers' hits fused into one ranking (visible items only)."""
        options = SearchOptions(mode=mode)
        query = checked_query(query, self._settings.max_query_chars)
        return self._fuse(scope, query, visible_filter(filters), options)

    def candidates(
        self, scope: Scope, pool: Sequence[Fused], filters: Filter | None
    ) -> list[Candidate]:
        """What the context re-ranker scores: the pool's items and the turns around each
        (as views: a hit's whole item is loaded once it is chosen)."""
        views = {view.id: view for view in self._store.item_views(scope, [f.id for f in pool])}
        candidates = [Candidate(views[f.id], f) for f in pool if f.id in views]
        known: set[Place | None] = {place(c.item) for c in candidates}
        wanted: dict[Place, str] = {}
        for c in candidates:
            for spot in adjacent_places(c.item):
                if spot not in known:
                    wanted.setdefault(spot, c.item.id)
        for view in self._store.views_at(scope, list(wanted), filters):
            found = place(view)
            if found is not None and found in wanted and found not in known:
                known.add(found)
                candidates.append(Candidate(view, None, joined_for=wanted[found]))
        return candidates

    def _hits(
        self,
        scored: Sequence[tuple[MemoryItem, Candidate, float]],
        query: str,
        options: SearchOptions,
        reranker: str | None,
    ) -> list[SearchHit]:
        """Each (item, its candidate, its score) as a hit with its explanation, best first."""
        now = self._clock.now()
        terms = QueryTerms(query)
        method = (
            (options.fusion or self._settings.fusion) if options.mode == "hybrid" else options.mode
        )
        matched = terms.matched_in([item.search_text() for item, _, _ in scored])  # as indexed
        hits = []
        for (item, candidate, base), item_terms in zip(scored, matched, strict=True):
            entry = candidate.fused
            adjustments = _adjustments(item, now, options)
            hits.append(
                SearchHit(
                    item=item,
                    score=base + sum(adjustments.values()),
                    explain=Explain(
                        retrievers=entry.explained() if entry else [],
                        fusion=str(method),
                        fused_score=entry.score if entry else 0.0,
                        adjustments=adjustments,
                        matched_terms=sorted(item_terms),
                        expanded_from=candidate.joined_for,
                        reranker=reranker,
                        rerank_score=base if reranker else None,
                    ),
                )
            )
        hits.sort(key=lambda h: -h.score)
        return hits

    def _mmr(self, hits: list[SearchHit], balance: float, top_k: int) -> list[SearchHit]:
        """Maximal marginal relevance: trade relevance against redundancy."""
        if len(hits) <= 1:
            return hits
        vectors = self._embedder.embed([h.item.search_text() for h in hits])
        similarity = vectors @ vectors.T
        chosen: list[int] = []
        remaining = list(range(len(hits)))
        while remaining and len(chosen) < top_k:

            def gain(i: int) -> float:
                redundancy = max((float(similarity[i, j]) for j in chosen), default=0.0)
                return balance * hits[i].score - (1 - balance) * redundancy

            best = max(remaining, key=gain)
            chosen.append(best)
            remaining.remove(best)
        return [hits[i] for i in chosen]

    def _with_neighbours(self, scope: Scope, hits: list[SearchHit], n: int) -> list[SearchHit]:
        seen = {h.item.id for h in hits}
        expanded: list[SearchHit] = []
        for hit in hits:
            expanded.append(hit)
            if hit.item.session_id is None or hit.item.position is None:
                continue
            for item in self._store.neighbours(scope, hit.item, n, n):
                if item.id in seen:
                    continue
                seen.add(item.id)
                expanded.append(
                    SearchHit(
                        item=item, score=hit.score, explain=Explain(expanded_from=hit.item.id)
                    )
                )
        return expanded


def checked_query(query: object, max_chars: int) -> str:
    """``query`` if it is a non-blank, well-formed string of at most ``max_chars``."""
    if not isinstance(query, str):
        raise InvalidInputError(f"query must be a string, got {type(query).__name__}")
    if not query.strip():
        raise InvalidInputError("query is empty; pass the text to search for")
    if len(query) > max_chars:
        raise InputTooLargeError(
            f"query has {len(query)} characters, over the limit of {max_chars} "
            "(retrieval.max_query_chars); search with the question, not the whole context",
            detail={"field": "query", "limit": max_chars},
        )
    return check_text(query, "query")


def _adjustments(item: MemoryItem, now: datetime, options: SearchOptions) -> dict[str, float]:
    adjustments: dict[str, float] = {}
    if options.recency_weight:
        when = item.event_time or item.created_at
        age_days = max((now - when).total_seconds() / 86400.0, 0.0)
        adjustments["recency"] = options.recency_weight * math.exp(
            -math.log(2) * age_days / RECENCY_HALF_LIFE_DAYS
        )
    if options.importance_weight:
        adjustments["importance"] = options.importance_weight * float(
            np.clip(item.importance, 0, 1)
        )
    return adjustments
