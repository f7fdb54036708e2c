"""Full-text (BM25, by FTS5 or its in-memory mirror) and vector search over the items a scope
may see."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from memosys.core.errors import InvalidInputError
from memosys.core.filters import Filter
from memosys.stores.base import Scope, ScoredId, Vectors
from memosys.stores.sqlite.codec import unit_vectors
from memosys.stores.sqlite.fts import bounded_query, doc_freqs, query_terms
from memosys.stores.sqlite.scope import visible
from memosys.stores.sqlite.text_mirror import TextMirror
from memosys.stores.sqlite.vector_cache import VectorCache
from memosys.stores.sqlite.vector_index import CubeVectors, RowIds

CANDIDATE_CAP = 10_000  # text matches scored with BM25 at most (the newest)
MAX_POOL = 20_000  # vector candidates checked in SQL at most before scoring SQL's own selection


def text_search(
    conn: sqlite3.Connection,
    scope: Scope,
    query: str,
    filters: Filter | None,
    limit: int,
    now: datetime,
    mirror: TextMirror | None = None,
) -> list[ScoredId]:
    """BM25 over ``search_text``; scores are ``-bm25`` (positive, higher is better).

    BM25 is computed for at most :data:`CANDIDATE_CAP` matching documents (the
    newest), by the in-memory ``mirror`` of the index when it is given and
    ready, else inside SQLite (the same results); the best of them are
    checked against scope, expiry and filters. If too few pass and more
    matches exist, every match in the scope's cubes is ranked, by the mirror
    (then checked in order) or in SQLite with the checks inside the SQL.
    """
    if not scope.cube_ids:
        return []
    where = visible(scope, now, filters)
    return text_search_where(conn, query, where, limit, mirror, scope.cube_ids)


def text_search_where(
    conn: sqlite3.Connection,
    query: str,
    where: tuple[str, list[Any]],
    limit: int,
    mirror: TextMirror | None = None,
    cube_ids: tuple[str, ...] | None = None,
) -> list[ScoredId]:
    """:func:`text_search` over the items that the SQL condition ``where`` (alias ``i``)
    selects; ``cube_ids``, when given, are the only cubes ``where`` admits, which lets
    the mirror answer the second query too."""
    terms = query_terms(query)
    if not terms or limit <= 0:
        return []
    found = mirror.postings(conn, terms) if mirror is not None else None
    freqs = found.doc_freqs() if found is not None else doc_freqs(conn, terms)
    match = bounded_query(terms, freqs)
    if not match:
        return []
    pool = _pool(limit)
    if found is not None:
        rowids, scores = found.ranked(terms, freqs, CANDIDATE_CAP, pool)
    else:
        rowids, scores = fts5_ranked(conn, match, pool)
    hits = _checked(conn, where, rowids, scores)[:limit]
    if len(hits) >= limit or len(rowids) < pool:
        return hits
    if found is not None and cube_ids is not None:
        in_cubes, cube_scores = found.ranked_in_cubes(terms, freqs, cube_ids)
        return _first_passing(conn, where, in_cubes, cube_scores, limit)
    condition, params = where
    rows = conn.execute(
        "SELECT i.id, -bm25(items_fts) AS score FROM items_fts "
        "JOIN items i ON i.rowid = items_fts.rowid "
        f"WHERE items_fts MATCH ? AND {condition} ORDER BY score DESC, i.rowid DESC LIMIT ?",
        (match, *params, limit),
    ).fetchall()
    return [ScoredId(str(item_id), float(score)) for item_id, score in rows]


def fts5_ranked(
    conn: sqlite3.Connection, match: str, pool: int
) -> tuple[RowIds, npt.NDArray[np.float64]]:
    """The ``pool`` best of the newest :data:`CANDIDATE_CAP` matches by FTS5's ``bm25()``."""
    rows = conn.execute(
        "SELECT rowid, score FROM (SELECT rowid, -bm25(items_fts) AS score FROM items_fts "
        "WHERE items_fts MATCH ? ORDER BY rowid DESC LIMIT ?) "
        "ORDER BY score DESC, rowid DESC LIMIT ?",
        (match, CANDIDATE_CAP, pool),
    ).fetchall()
    rowids = np.array([r for r, _ in rows], dtype=np.int64)
    return rowids, np.array([s for _, s in rows], dtype=np.float64)


def _first_passing(
    conn: sqlite3.Connection,
    where: tuple[str, list[Any]],
    rowids: RowIds,
    scores: npt.NDArray[np.float64],
    limit: int,
) -> list[ScoredId]:
    """The first ``limit`` candidates, in their order, that pass the SQL check (checked a
    chunk at a time, each twice the last)."""
    hits: list[ScoredId] = []
    start, chunk = 0, max(4 * limit, 64)
    while start < len(rowids) and len(hits) < limit:
        end = start + chunk
        hits += _checked(conn, where, rowids[start:end], scores[start:end])
        start, chunk = end, chunk * 2
    return hits[:limit]


def _pool(limit: int) -> int:
    """How many index candidates to check in SQL at first: ``limit`` and a few spares.

    Most candidates pass (only expired, deleted or filtered-out items fail), so
    few spares are needed; a selective filter is met by growing the pool
    (vector search) or by checking inside the SQL (text search). Spares add no
    recall to HNSW: it explores :data:`.ann.HNSW_EXPANSION_SEARCH` candidates for
    any smaller pool, so its best ``limit`` are the same either way.
    """
    return limit + 16


def vector_search(
    conn: sqlite3.Connection,
    cache: VectorCache,
    scope: Scope,
    vector: Vectors,
    filters: Filter | None,
    limit: int,
    now: datetime,
) -> list[ScoredId]:
    """Nearest items by cosine similarity, checked against scope, expiry and filters in SQL.

    Candidates come from each cube's index (oversampled when approximate).
    If fewer than ``limit`` pass the SQL check, the pool grows once by the
    pass rate seen (up to :data:`MAX_POOL`); if that is still short, the
    rowids the SQL filter selects are scored exactly instead.
    """
    if limit <= 0 or not scope.cube_ids:
        return []
    indexes = cache.cubes(conn, scope.cube_ids)
    return vector_search_where(conn, indexes, scope, vector, visible(scope, now, filters), limit)


def vector_search_where(
    conn: sqlite3.Connection,
    indexes: list[CubeVectors],
    scope: Scope,
    vector: Vectors,
    where: tuple[str, list[Any]],
    limit: int,
) -> list[ScoredId]:
    """:func:`vector_search` in the indexes of the scope's cubes, over the items that the
    SQL condition ``where`` (alias ``i``) selects."""
    if not indexes or limit <= 0:
        return []
    if len({ix.dim for ix in indexes}) > 1:
        raise InvalidInputError(
            "the cubes in this scope store vectors of different sizes (different embedders); "
            "search them separately, or run `memosys reembed --data DIR --all-users`",
            detail={"cube_ids": list(scope.cube_ids)},
        )
    query = unit_vectors(vector, 1, indexes[0].dim)[0]
    pool = _pool(limit)
    for _ in range(2):
        rowids, scores = _merge([ix.search(query, pool) for ix in indexes], pool)
        hits = _checked(conn, where, rowids, scores)
        exhausted = all(ix.count <= pool and not ix.approximate for ix in indexes)
        if len(hits) >= limit or exhausted:
            return hits[:limit]
        pass_rate = max(len(hits), 1) / max(len(rowids), 1)
        pool += int(2 * limit / pass_rate)
        if pool > MAX_POOL:
            break
    return _exact_over_sql(conn, indexes, where, query, limit)


def _merge(parts: list[tuple[RowIds, np.ndarray]], k: int) -> tuple[RowIds, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    rowids = np.concatenate([r for r, _ in parts])
    scores = np.concatenate([s for _, s in parts])
    order = np.argsort(-scores, kind="stable")[:k]
    return rowids[order], scores[order]


def _checked(
    conn: sqlite3.Connection,
    where: tuple[str, list[Any]],
    rowids: RowIds,
    scores: np.ndarray,
) -> list[ScoredId]:
    """The candidates that pass scope, expiry and filters, in score order."""
    if len(rowids) == 0:
        return []
    condition, params = where
    rows = conn.execute(
        "SELECT i.rowid, i.id FROM json_each(?) j CROSS JOIN items i ON i.rowid = j.value "
        f"WHERE {condition}",
        (json.dumps(rowids.tolist()), *params),
    ).fetchall()
    ids = dict(rows)
    pairs = zip(rowids.tolist(), scores.tolist(), strict=True)
    return [ScoredId(ids[r], float(s)) for r, s in pairs if r in ids]


def _exact_over_sql(
    conn: sqlite3.Connection,
    indexes: list[CubeVectors],
    where: tuple[str, list[Any]],
    query: Vectors,
    limit: int,
) -> list[ScoredId]:
    condition, params = where
    rows = conn.execute(f"SELECT i.rowid, i.id FROM items i WHERE {condition}", params).fetchall()
    if not rows:
        return []
    ids = dict(rows)
    allowed = np.fromiter(ids, dtype=np.int64, count=len(ids))
    rowids, scores = _merge([ix.score(query, allowed, limit) for ix in indexes], limit)
    pairs = zip(rowids.tolist(), scores.tolist(), strict=True)
    return [ScoredId(ids[r], float(s)) for r, s in pairs]
