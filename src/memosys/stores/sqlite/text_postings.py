"""One immutable snapshot of the in-memory BM25 mirror, and the bounded query scored on it.

A :class:`TextIndex` holds, per token, the sorted rowids of the rows that
contain it and the token's count in each (numpy arrays), each row's length in
tokens, and FTS5's own totals (rows, tokens). Catching up never changes a
snapshot: it builds the next one, sharing the postings that did not change
(the changed tokens sit in a small overlay over the loaded ones, folded in
when it grows), so searches score on the snapshot they took without a lock.

:meth:`TermPostings.ranked` computes what ``search.text_search_where``'s
FTS5 query computes: the candidates are the newest ``cap`` rows holding a
rare term, scored by FTS5's ``bm25()`` over the phrases of
:func:`~memosys.stores.sqlite.fts.bounded_query`, in FTS5's order of
floating-point operations, ranked by score then rowid, both descending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from memosys.stores.sqlite.fts import capped, split_terms
from memosys.stores.sqlite.fts_stats import K1, B, idf

RowIds = npt.NDArray[np.int64]
Counts = npt.NDArray[np.int32]
Posting = tuple[RowIds, Counts]  # rowids ascending, the token's count in each

EMPTY_POSTING: Posting = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32))


@dataclass(frozen=True)
class TextIndex:
    """Postings per token (``changed`` shadows ``base``), row lengths by rowid, FTS5's row
    and token totals, and the last ``text_changes`` entry applied."""

    base: Mapping[str, Posting]
    changed: Mapping[str, Posting]
    lengths: Counts
    rows: int
    tokens: int
    seq: int
    cubes: Counts  # by rowid: the row's cube, as its number in cube_numbers (-1: no row)
    cube_numbers: Mapping[str, int]

    def posting(self, token: str) -> Posting:
        """The rows holding ``token`` and its count in each (empty when none does)."""
        found = self.changed.get(token)
        return found if found is not None else self.base.get(token, EMPTY_POSTING)

    def lookup(self, tokens: list[str]) -> TermPostings:
        """The postings of a query's tokens (one per term, in the terms' order)."""
        return TermPostings(self, [self.posting(t) for t in tokens])

    def nbytes(self) -> int:
        """Bytes of the arrays (postings and lengths)."""
        postings = {**self.base, **self.changed}.values()
        arrays = self.lengths.nbytes + self.cubes.nbytes
        return arrays + sum(r.nbytes + c.nbytes for r, c in postings)


@dataclass(frozen=True)
class TermPostings:
    """A query's postings (one per term) from one :class:`TextIndex` snapshot."""

    index: TextIndex
    postings: list[Posting]

    def doc_freqs(self) -> list[int]:
        """How many rows hold each term, capped as :func:`.fts.doc_freqs` caps them."""
        return [capped(len(rowids)) for rowids, _ in self.postings]

    def ranked(
        self, terms: list[str], freqs: list[int], cap: int, limit: int
    ) -> tuple[RowIds, npt.NDArray[np.float64]]:
        """The ``limit`` best of the newest ``cap`` rows holding a rare term, with their BM25."""
        rare, phrases = self._bounded(terms, freqs)
        candidates = _union(rare)[-cap:]
        scores = self._scores(phrases, candidates)
        best = _best(scores, limit)
        order = best[np.lexsort((-candidates[best], -scores[best]))][:limit]
        return candidates[order], scores[order]

    def ranked_in_cubes(
        self, terms: list[str], freqs: list[int], cube_ids: Sequence[str]
    ) -> tuple[RowIds, npt.NDArray[np.float64]]:
        """Every row of these cubes holding a rare term, with its BM25, best first: what
        FTS5 ranks when the search's SQL condition is inside its query (no cap)."""
        rare, phrases = self._bounded(terms, freqs)
        candidates = _union(rare)
        numbers = self.index.cube_numbers
        wanted = [numbers[c] for c in cube_ids if c in numbers]
        candidates = candidates[np.isin(self.index.cubes[candidates], wanted)]
        scores = self._scores(phrases, candidates)
        order = np.lexsort((-candidates, -scores))
        return candidates[order], scores[order]

    def _bounded(self, terms: list[str], freqs: list[int]) -> tuple[list[RowIds], list[Posting]]:
        """The rare terms' rows, and the postings of the bounded query's phrases (the rare
        terms, then the rare and common ones again when there are common ones)."""
        rare, common = split_terms(terms, freqs)
        by_term = dict(zip(terms, self.postings, strict=True))
        phrases = rare + (rare + common if common else [])
        return [by_term[t][0] for t in rare], [by_term[t] for t in phrases]

    def _scores(self, phrases: list[Posting], candidates: RowIds) -> npt.NDArray[np.float64]:
        """FTS5's bm25() over ``phrases`` for each candidate row."""
        if len(candidates) == 0:
            return np.empty(0, dtype=np.float64)
        index = self.index
        lengths = index.lengths[candidates].astype(np.float64)
        average = index.tokens / index.rows
        norm = K1 * ((1 - B) + (B * lengths) / average)  # as fts5_aux.c groups it
        scores = np.zeros(len(candidates), dtype=np.float64)
        for rowids, counts in phrases:
            found = _counts_at(rowids, counts, candidates)
            scores += idf(index.rows, len(rowids)) * ((found * (K1 + 1.0)) / (found + norm))
        return scores


def extended(array: npt.NDArray[Any], size: int, fill: int) -> npt.NDArray[Any]:
    """``array`` grown to ``size`` entries, the new ones ``fill``.

    When ``array`` is the start of a larger buffer (an earlier call made it),
    the result is a longer view of that buffer and nothing is copied: an array
    never reads past its own end, so the snapshots that hold ``array`` see no
    change. Otherwise the entries move to a buffer with room to grow by half.
    Only the newest snapshot's arrays may be extended.
    """
    count = len(array)
    base = array.base
    if (
        isinstance(base, np.ndarray)
        and base.ndim == 1
        and base.dtype == array.dtype
        and len(base) >= size
        and base.ctypes.data == array.ctypes.data
    ):
        buffer: npt.NDArray[Any] = base
    else:
        buffer = np.empty(max(size + size // 2, 16), dtype=array.dtype)
        buffer[:count] = array
    grown: npt.NDArray[Any] = buffer[:size]
    grown[count:] = fill
    return grown


def _union(parts: list[RowIds]) -> RowIds:
    """The sorted distinct rowids of sorted postings."""
    if not parts:
        return EMPTY_POSTING[0]
    if len(parts) == 1:
        return parts[0]
    merged = np.sort(np.concatenate(parts), kind="stable")  # timsort merges the sorted runs
    return merged[np.concatenate(([True], merged[1:] != merged[:-1]))]


def _best(scores: npt.NDArray[np.float64], limit: int) -> npt.NDArray[np.intp]:
    """Positions of the ``limit`` highest scores and of any tied with the last of them."""
    if len(scores) <= limit:
        return np.arange(len(scores))
    threshold = np.partition(scores, len(scores) - limit)[len(scores) - limit]
    return np.flatnonzero(scores >= threshold)


def _counts_at(rowids: RowIds, counts: Counts, wanted: RowIds) -> npt.NDArray[np.float64]:
    """The counts of the ``wanted`` rowids in a posting (0 for rows not in it); both are
    sorted and distinct, and the shorter is looked up in the longer."""
    if len(rowids) < len(wanted):
        found = np.zeros(len(wanted), dtype=np.float64)
        at = np.minimum(np.searchsorted(wanted, rowids), len(wanted) - 1)
        hit = wanted[at] == rowids
        found[at[hit]] = counts[hit]
        return found
    at = np.minimum(np.searchsorted(rowids, wanted), len(rowids) - 1)
    return np.where(rowids[at] == wanted, counts[at], 0).astype(np.float64)
