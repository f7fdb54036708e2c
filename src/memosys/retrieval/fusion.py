"""Rank fusion: reciprocal rank fusion and weighted score fusion.

Both take the ranked lists of several retrievers and return one ranking
that remembers, for every id, where each retriever placed it, so that hits
can be explained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from memosys.core.results import RetrieverMatch
from memosys.stores.base import ScoredId


class Match(NamedTuple):
    """Where one retriever placed an id (a plain tuple: a search fuses hundreds)."""

    retriever: str
    rank: int  # 1-based
    score: float  # the retriever's raw score


@dataclass
class Fused:
    """One id after fusion, with every retriever's match."""

    id: str
    score: float
    matches: list[Match] = field(default_factory=list)

    def explained(self) -> list[RetrieverMatch]:
        """The matches as a hit's explanation gives them."""
        return [RetrieverMatch(retriever=m.retriever, rank=m.rank, score=m.score)
                for m in self.matches]


def _collect(lists: Mapping[str, Sequence[ScoredId]]) -> dict[str, Fused]:
    fused: dict[str, Fused] = {}
    for name, hits in lists.items():
        for rank, hit in enumerate(hits, start=1):
            entry = fused.get(hit.id)
            if entry is None:
                entry = fused[hit.id] = Fused(hit.id, 0.0)
            entry.matches.append(Match(name, rank, hit.score))
    return fused


def _ranked(fused: dict[str, Fused]) -> list[Fused]:
    return sorted(fused.values(), key=lambda f: (-f.score, f.matches[0].rank, f.id))


def rrf(
    lists: Mapping[str, Sequence[ScoredId]], k: int = 60, weights: Mapping[str, float] | None = None
) -> list[Fused]:
    """Reciprocal rank fusion: ``sum(w / (k + rank))`` over the retrievers."""
    fused = _collect(lists)
    for entry in fused.values():
        entry.score = sum(
            (weights or {}).get(m.retriever, 1.0) / (k + m.rank) for m in entry.matches
        )
    return _ranked(fused)


def weighted(lists: Mapping[str, Sequence[ScoredId]], weights: Mapping[str, float]) -> list[Fused]:
    """Weighted sum of min-max normalised scores (a missing hit counts 0)."""
    bounds: dict[str, tuple[float, float]] = {}
    for name, hits in lists.items():
        scores = [h.score for h in hits]
        if scores:
            bounds[name] = (min(scores), max(scores))
    fused = _collect(lists)
    for entry in fused.values():
        total = 0.0
        for m in entry.matches:
            low, high = bounds[m.retriever]
            norm = 1.0 if high == low else (m.score - low) / (high - low)
            total += weights.get(m.retriever, 1.0) * norm
        entry.score = total
    return _ranked(fused)
