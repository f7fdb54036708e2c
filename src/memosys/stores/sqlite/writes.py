"""Item writes: add with dedup, update, delete, and vector replacement.

Each function runs inside the caller's ``BEGIN IMMEDIATE`` transaction and
keeps the places an item lives in step: the ``items`` row (whose triggers
maintain its ``items_fts`` row) and its ``vectors`` row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from memosys.core.context import acting_user
from memosys.core.errors import (
    EmbedderMismatchError,
    InvalidInputError,
    NotFoundError,
    version_conflict,
)
from memosys.core.items import MemoryItem
from memosys.lifecycle.states import NOT_CURRENT
from memosys.stores.base import AddResult, Scope, Vectors
from memosys.stores.sqlite.codec import (
    INSERT_ITEM_SQL,
    blob_vector,
    item_row,
    load_item,
    micros,
    unit_vectors,
    vector_blob,
)
from memosys.stores.sqlite.text_mirror import prune_text_changes
from memosys.stores.sqlite.vector_cache import prune_changes
from memosys.stores.sqlite.versions import (
    UPSERT_VECTOR_SQL,
    claim_hash,
    guard_change,
    transaction_time,
    write_version,
)

_INSERT_SQL = INSERT_ITEM_SQL.replace(
    "INSERT INTO items (", "INSERT INTO items (rowid, recorded_at, created_by, "
).replace("VALUES (", "VALUES (?, ?, ?, ")


def add_items(
    conn: sqlite3.Connection,
    items: Sequence[MemoryItem],
    vectors: Vectors | None,
    fingerprint: str | None,
    now: datetime,
    repeats_in_any_state: bool = False,
) -> AddResult:
    """Insert new items with text-index rows and vectors; repeats return the stored item
    (see :meth:`memosys.stores.base.Store.add_items`)."""
    if not items:
        return AddResult(items=[], duplicates=[])
    matrix = None
    if vectors is not None:
        if not fingerprint:
            raise InvalidInputError(
                "vectors need the embedder_fingerprint of the model that made them"
            )
        matrix = unit_vectors(vectors, len(items), None)
        for cube_id in dict.fromkeys(item.cube_id for item in items):
            record_embedder(conn, cube_id, fingerprint, matrix.shape[1], replace=False)
    else:
        for cube_id in dict.fromkeys(item.cube_id for item in items):
            _cube_row(conn, cube_id)
    stored = _stored_repeats(conn, items, now)
    result: list[MemoryItem] = []
    duplicates: list[bool] = []
    rows, vector_rows = [], []
    rowid = _next_rowid(conn)
    recorded_at = transaction_time(conn, now)
    for index, item in enumerate(items):
        key = (item.cube_id, item.user_id, item.content_hash)
        found = stored.get(key) if item.content_hash else None
        if found is not None and (repeats_in_any_state or found.state not in NOT_CURRENT):
            result.append(found)
            duplicates.append(True)
            continue
        if found is not None:  # a stale memory gives its hash up to the new current one
            conn.execute(
                "UPDATE items SET content_hash = '', data = json_set(data, '$.content_hash', '') "
                "WHERE id = ?",
                (found.id,),
            )
        rows.append((rowid, recorded_at, acting_user(item.user_id), *item_row(item)))
        if matrix is not None:
            vector_rows.append((rowid, item.cube_id, vector_blob(matrix[index])))
        if item.content_hash:
            stored[key] = item
        result.append(item)
        duplicates.append(False)
        rowid += 1
    conn.executemany(_INSERT_SQL, rows)
    prune_text_changes(conn)
    if vector_rows:
        conn.executemany("INSERT INTO vectors (item_rowid, cube_id, vector) VALUES (?, ?, ?)",
                         vector_rows)
        prune_changes(conn)
    return AddResult(items=result, duplicates=duplicates)


def update_item(
    conn: sqlite3.Connection,
    scope: Scope,
    item: MemoryItem,
    vector: Vectors | None,
    note: str | None,
    now: datetime,
) -> MemoryItem:
    """Write a new version of a stored item of the scope (same id, same cube).

    ``item`` is a changed copy of the stored version it carries; a row that has
    moved on since (another change came first) is VersionConflictError, so that
    no change is written over unseen. The replaced row and its vector are kept
    as a version (:mod:`.versions`); frozen and deleted items and illegal state
    changes are refused there. Returns the item as written (its version bumped).
    """
    rowid, old = _rows_in_scope(conn, scope, [item.id])[0]
    if old.cube_id != item.cube_id:
        raise InvalidInputError(
            f"item {item.id} belongs to cube {old.cube_id}; items cannot move between cubes "
            "(delete it and add it to the other cube)",
            detail={"id": item.id},
        )
    if old.version != item.version:
        raise version_conflict(item.id, old.version, item.version)
    guard_change(conn, rowid, old, item, scope.user_id)
    wanted = item.content_hash
    if wanted and wanted != old.content_hash:  # claimed once written (see claim_hash)
        item = item.model_copy(update={"content_hash": ""})
    item = write_version(conn, rowid, item, scope.user_id, note, now)
    if wanted != item.content_hash:
        item = claim_hash(conn, rowid, item, wanted)
    prune_text_changes(conn)
    if vector is not None:
        _, dim = _cube_row(conn, item.cube_id)
        matrix = unit_vectors(vector, 1, dim)
        if dim is None:
            conn.execute(
                "UPDATE cubes SET vector_dim = ? WHERE id = ?", (matrix.shape[1], item.cube_id)
            )
        conn.execute(UPSERT_VECTOR_SQL, (rowid, item.cube_id, vector_blob(matrix[0])))
    return item


def delete_items(conn: sqlite3.Connection, scope: Scope, ids: Sequence[str]) -> int:
    """Delete items of the scope with their index rows; any id not in scope raises."""
    found = _rows_in_scope(conn, scope, list(dict.fromkeys(ids)))
    rowids = (json.dumps([rowid for rowid, _ in found]),)
    conn.execute("DELETE FROM vectors WHERE item_rowid IN (SELECT value FROM json_each(?))", rowids)
    conn.execute("DELETE FROM items WHERE rowid IN (SELECT value FROM json_each(?))", rowids)
    return len(found)


def replace_vectors(
    conn: sqlite3.Connection, cube_id: str, ids: Sequence[str], vectors: Vectors, fingerprint: str
) -> None:
    """Overwrite vectors of a cube's items and record ``fingerprint`` as its embedder.

    When the fingerprint changes, the cube's other vectors are dropped (they
    came from the old model); its items stay in the text index until re-embedded.
    """
    matrix = unit_vectors(vectors, len(ids), None)
    record_embedder(conn, cube_id, fingerprint, matrix.shape[1], replace=True)
    rows = conn.execute(
        "SELECT i.id, i.rowid FROM json_each(?) j CROSS JOIN items i ON i.id = j.value "
        "WHERE i.cube_id = ?",
        (json.dumps(list(ids)), cube_id),
    ).fetchall()
    rowids = dict(rows)
    missing = [i for i in ids if i not in rowids]
    if missing:
        raise NotFoundError(
            f"{len(missing)} item(s) are not in cube {cube_id}, e.g. {missing[0]}",
            detail={"cube_id": cube_id, "missing": missing[:10]},
        )
    conn.executemany(
        UPSERT_VECTOR_SQL,
        [(rowids[i], cube_id, vector_blob(matrix[n])) for n, i in enumerate(ids)],
    )
    prune_changes(conn)


def record_embedder(
    conn: sqlite3.Connection, cube_id: str, fingerprint: str, dim: int, *, replace: bool
) -> None:
    """Check (or, for a cube's first vectors or with ``replace``, record) its embedder."""
    recorded, recorded_dim = _cube_row(conn, cube_id)
    if recorded == fingerprint and recorded_dim == dim:
        return
    if recorded is not None and recorded != fingerprint and not replace:
        raise EmbedderMismatchError(
            f"cube {cube_id} was built with embedder {recorded!r} but vectors come from "
            f"{fingerprint!r}; run `memosys reembed --data DIR --all-users` to re-embed the "
            "cube with the configured embedder, or set the embedder back to the one the cube "
            "was built with",
            detail={"cube_id": cube_id, "recorded": recorded, "given": fingerprint},
        )
    if recorded is not None and recorded != fingerprint:
        conn.execute("DELETE FROM vectors WHERE cube_id = ?", (cube_id,))
    elif recorded_dim is not None and recorded_dim != dim:
        raise InvalidInputError(
            f"vectors have {dim} dimensions but cube {cube_id} stores {recorded_dim}",
            detail={"cube_id": cube_id, "dimensions": dim, "expected": recorded_dim},
        )
    conn.execute(
        "UPDATE cubes SET embedder_fingerprint = ?, vector_dim = ? WHERE id = ?",
        (fingerprint, dim, cube_id),
    )


def _cube_row(conn: sqlite3.Connection, cube_id: str) -> tuple[str | None, int | None]:
    row = conn.execute(
        "SELECT embedder_fingerprint, vector_dim FROM cubes WHERE id = ?", (cube_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(
            f"cube {cube_id} does not exist; create it (put_cube) before adding items",
            detail={"cube_id": cube_id},
        )
    return row[0], row[1]


def repeat_vectors(
    conn: sqlite3.Connection, items: Sequence[MemoryItem], fingerprint: str, now: datetime
) -> dict[int, Vectors]:
    """Vectors of the live stored items that ``items`` repeat exactly (same cube, user and
    content hash), by position in ``items``, where the cube's vectors are ``fingerprint``'s."""
    found: dict[tuple[str, str, str], bytes] = {}
    for (cube_id, user_id), hashes in _hashes_by_writer(items).items():
        rows = conn.execute(
            f"SELECT i.content_hash, v.vector FROM {_REPEATS_JOIN} "
            "JOIN vectors v ON v.item_rowid = i.rowid "
            "JOIN cubes c ON c.id = i.cube_id AND c.embedder_fingerprint = ? "
            "WHERE i.expires_at IS NULL OR i.expires_at > ?",
            (json.dumps(sorted(hashes)), cube_id, user_id, fingerprint, micros(now)),
        ).fetchall()
        for content_hash, blob in rows:
            found[(cube_id, user_id, content_hash)] = blob
    keys = [(item.cube_id, item.user_id, item.content_hash) for item in items]
    return {index: blob_vector(found[key]) for index, key in enumerate(keys) if key in found}


_REPEATS_JOIN = (  # items of one (cube, user) whose content hash is in a JSON list
    "json_each(?) j CROSS JOIN items i ON i.cube_id = ? AND i.user_id = ? "
    "AND i.content_hash = j.value AND i.content_hash <> ''"  # uses the partial unique index
)


def _hashes_by_writer(items: Sequence[MemoryItem]) -> dict[tuple[str, str], set[str]]:
    """The content hashes of ``items`` (those that have one) by (cube, user)."""
    groups: dict[tuple[str, str], set[str]] = {}
    for item in items:
        if item.content_hash:
            groups.setdefault((item.cube_id, item.user_id), set()).add(item.content_hash)
    return groups


def _stored_repeats(
    conn: sqlite3.Connection, items: Sequence[MemoryItem], now: datetime
) -> dict[tuple[str, str, str], MemoryItem]:
    """Stored items with the same (cube, user, content hash); expired ones are purged."""
    found: dict[tuple[str, str, str], MemoryItem] = {}
    expired: list[int] = []
    for (cube_id, user_id), hashes in _hashes_by_writer(items).items():
        rows = conn.execute(
            f"SELECT i.rowid, i.data, i.expires_at FROM {_REPEATS_JOIN}",
            (json.dumps(sorted(hashes)), cube_id, user_id),
        ).fetchall()
        for rowid, data, expires_at in rows:
            if expires_at is not None and expires_at <= micros(now):
                expired.append(rowid)
            else:
                item = load_item(data)
                found[(cube_id, user_id, item.content_hash)] = item
    for rowid in expired:
        conn.execute("DELETE FROM vectors WHERE item_rowid = ?", (rowid,))
        conn.execute("DELETE FROM items WHERE rowid = ?", (rowid,))
    return found


def _rows_in_scope(
    conn: sqlite3.Connection, scope: Scope, ids: list[str]
) -> list[tuple[int, MemoryItem]]:
    marks = ", ".join("?" for _ in scope.cube_ids) or "NULL"
    rows = conn.execute(
        "SELECT i.id, i.rowid, i.data FROM json_each(?) j CROSS JOIN items i ON i.id = j.value "
        f"WHERE i.cube_id IN ({marks})",
        (json.dumps(ids), *scope.cube_ids),
    ).fetchall()
    by_id = {item_id: (rowid, data) for item_id, rowid, data in rows}
    missing = [i for i in ids if i not in by_id]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise NotFoundError(
            f"item {missing[0]} not found{more}",
            detail={"ids": missing[:10]},
        )
    return [(by_id[i][0], load_item(by_id[i][1])) for i in ids]


def _next_rowid(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'items'), 0), "
        "COALESCE((SELECT max(rowid) FROM items), 0))"
    ).fetchone()
    return int(row[0]) + 1
