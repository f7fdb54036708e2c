"""Rank a scope as it stood at a past time T: the live indexes plus the versions changed since.

At T each visible item of the scope is either *unchanged since T* (its current
row was recorded at or before T, so the live FTS5 index and vector cache hold
the text and vector it had then) or *changed since T* (the version current
then is in ``item_versions``: ``recorded_from <= T < recorded_to``). The
first part is ranked by the live indexes, restricted in SQL to the items
visible at T; the second part, usually small, is scored here. Items created
after T are not seen. A search costs about what a live one does, plus the
work for each item changed since T.

Dense scores are exact cosine similarities on both parts. BM25 of the first
part is FTS5's ``bm25()`` over the live index, with the same bounded query
as a live search (:func:`~memosys.stores.sqlite.fts.bounded_query`); the
versions are scored here by the same formula with the live index's
statistics (row count, average length, document frequencies; a term that no
current text has counts the versions that have it), so a version scores
exactly as the same text in the live index would, and both parts compare.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from memosys.core.filters import Filter
from memosys.stores.base import Scope, ScoredId, Vectors
from memosys.stores.sqlite.codec import blob_vector, micros, unit_vectors
from memosys.stores.sqlite.fts import (
    POSTING_BUDGET,
    doc_freqs,
    fts_query,
    query_terms,
    split_terms,
)
from memosys.stores.sqlite.fts_stats import K1, B, idf, live_totals, tokenize
from memosys.stores.sqlite.scope import visible
from memosys.stores.sqlite.search import text_search_where, vector_search_where
from memosys.stores.sqlite.vector_cache import VectorCache
from memosys.stores.sqlite.vector_index import CubeVectors


@dataclass(frozen=True)
class _Version:
    id: str
    text: str
    vector: bytes | None


def unchanged_since(
    scope: Scope, at: datetime, filters: Filter | None
) -> tuple[str, list[Any]]:
    """WHERE (alias ``i``) for items of the scope visible at ``at`` whose current row was
    already current then."""
    where, params = visible(scope, at, filters)
    return f"{where} AND COALESCE(i.recorded_at, i.created_at) <= ?", [*params, micros(at)]


def versions_then(scope: Scope, at: datetime, filters: Filter | None) -> tuple[str, list[Any]]:
    """WHERE (alias ``v``, on ``item_versions``) for the versions of the scope that were
    current and visible at ``at``."""
    where, params = visible(scope, at, filters, alias="v")
    when = micros(at)
    return f"{where} AND v.recorded_from <= ? AND v.recorded_to > ?", [*params, when, when]


def rank_as_of(
    conn: sqlite3.Connection,
    cache: VectorCache,
    scope: Scope,
    at: datetime,
    filters: Filter | None,
    *,
    query: str | None,
    vector: Vectors | None,
    limit: int,
) -> dict[str, list[ScoredId]]:
    """``{"bm25": ...}`` for ``query`` and ``{"dense": ...}`` for ``vector`` (those given),
    each the ``limit`` best items of the scope as it stood at ``at``."""
    ranked: dict[str, list[ScoredId]] = {}
    if query is not None:
        ranked["bm25"] = []
    if vector is not None:
        ranked["dense"] = []
    if limit <= 0 or not scope.cube_ids:
        return ranked
    indexes = cache.cubes(conn, scope.cube_ids) if vector is not None else []
    own = not conn.in_transaction  # inside a caller's transaction, that one is the snapshot
    if own:
        conn.execute("BEGIN")  # one snapshot: an item is either unchanged since T or a version
    try:
        where, params = versions_then(scope, at, filters)
        changed = [
            _Version(str(i), str(text), blob)
            for i, text, blob in conn.execute(
                f"SELECT v.id, v.search_text, v.vector FROM item_versions v WHERE {where}",
                params,
            ).fetchall()
        ]
        if query is not None:
            ranked["bm25"] = _bm25(conn, scope, at, filters, query, changed, limit)
        if vector is not None:
            ranked["dense"] = _dense(conn, indexes, scope, at, filters, vector, changed, limit)
    finally:
        if own:
            conn.execute("COMMIT")
    return ranked


def items_as_of(
    conn: sqlite3.Connection, scope: Scope, at: datetime, ids: Sequence[str]
) -> dict[str, str]:
    """The stored JSON of these items as they stood at ``at`` (id -> data; missing ones left
    out), by id: the current rows unchanged since, else the versions current then."""
    if not ids:
        return {}
    wanted = json.dumps(list(ids))
    now_sql, now_params = unchanged_since(scope, at, None)
    then_sql, then_params = versions_then(scope, at, None)
    rows = conn.execute(  # CROSS JOIN: look the ids up, do not scan the cubes
        f"SELECT i.id, i.data FROM json_each(?) j CROSS JOIN items i ON i.id = j.value "
        f"WHERE {now_sql} UNION ALL "
        "SELECT v.id, v.data FROM json_each(?) j CROSS JOIN items c ON c.id = j.value "
        f"CROSS JOIN item_versions v ON v.item_rowid = c.rowid WHERE {then_sql}",
        (wanted, *now_params, wanted, *then_params),
    ).fetchall()
    return {str(i): str(data) for i, data in rows}


def _best(parts: Sequence[ScoredId], limit: int) -> list[ScoredId]:
    return sorted(parts, key=lambda hit: -hit.score)[:limit]


def _bm25(
    conn: sqlite3.Connection,
    scope: Scope,
    at: datetime,
    filters: Filter | None,
    query: str,
    changed: list[_Version],
    limit: int,
) -> list[ScoredId]:
    hits = text_search_where(conn, query, unchanged_since(scope, at, filters), limit)
    terms = query_terms(query)
    if changed and terms:
        hits += _versions_bm25(conn, terms, doc_freqs(conn, terms), changed)
    return _best(hits, limit)


def _versions_bm25(
    conn: sqlite3.Connection, terms: list[str], freqs: list[int], changed: list[_Version]
) -> list[ScoredId]:
    """FTS5's bm25() of the bounded query for each version that matches it."""
    rare, common = split_terms(terms, freqs)
    rare += [t for t, df in zip(terms, freqs, strict=True) if df == 0]  # only versions have them
    phrases = rare + (rare + common if common else [])
    tokens, counts = tokenize([v.text for v in changed], rare + common)
    lengths = [sum(c.values()) for c in counts]
    rows, total = live_totals(conn)
    if rows == 0:  # nothing is current now: the versions are the whole collection
        rows, total = len(changed), sum(lengths)
    if total == 0:
        return []
    average = total / rows
    weights = {}
    live = dict(zip(terms, freqs, strict=True))
    for term in {t for t in phrases if tokens[t]}:
        hits = live[term] if live[term] <= POSTING_BUDGET else _live_hits(conn, term)
        hits = hits or sum(1 for c in counts if c[tokens[term]])  # in no current text
        weights[term] = idf(rows, hits)
    found = []
    for version, count, length in zip(changed, counts, lengths, strict=True):
        if not any(count[tokens[t]] for t in rare):
            continue
        norm = K1 * (1 - B + B * length / average)
        score = 0.0
        for term in phrases:
            tf = count[tokens[term]]
            if tf:
                score += weights[term] * tf * (K1 + 1) / (tf + norm)
        found.append(ScoredId(version.id, score))
    return found


def _live_hits(conn: sqlite3.Connection, term: str) -> int:
    """How many rows of the live index contain ``term`` (uncapped, unlike :func:`doc_freqs`)."""
    return int(conn.execute(
        "SELECT count(*) FROM items_fts WHERE items_fts MATCH ?", (fts_query([term]),)
    ).fetchone()[0])


def _dense(
    conn: sqlite3.Connection,
    indexes: list[CubeVectors],
    scope: Scope,
    at: datetime,
    filters: Filter | None,
    vector: Vectors,
    changed: list[_Version],
    limit: int,
) -> list[ScoredId]:
    hits = vector_search_where(conn, indexes, scope, vector, unchanged_since(scope, at, filters),
                               limit)
    if not changed:
        return hits
    query = unit_vectors(vector, 1, indexes[0].dim if indexes else None)[0]
    kept = [(v.id, blob_vector(v.vector)) for v in changed
            if v.vector is not None and len(v.vector) == 4 * query.shape[0]]
    if kept:
        scores = np.stack([vec for _, vec in kept]) @ query
        hits += [ScoredId(i, float(s)) for (i, _), s in zip(kept, scores.tolist(), strict=True)]
    return _best(hits, limit)
