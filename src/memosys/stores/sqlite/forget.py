"""Removing items from every place SQLite keeps them, and compacting the file afterwards.

An item lives in its ``items`` row, its earlier versions, its ``items_fts``
entries, its vector (and the cube's HNSW index) and, as an id, in the links
of other items. :func:`remove_items` deletes all of that inside the caller's
transaction; every connection of the store zeroes what it deletes or replaces
(``secure_delete``). :func:`compact`, run once after one or many removals,
merges the FTS index (``optimize``) so no segment keeps the deleted terms and
empties the WAL, and can rewrite the file (VACUUM).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from memosys.core.errors import FrozenError, NotFoundError
from memosys.core.items import LifecycleState, MemoryItem
from memosys.stores.base import ForgetResult, Scope
from memosys.stores.sqlite.codec import from_micros, load_item
from memosys.stores.sqlite.connection import Database
from memosys.stores.sqlite.versions import as_of_sql

_LINK_FIELDS = ("supersedes", "merged_from", "previous_versions")
FREE_SPACE_ZEROED = "free_space_zeroed"  # a row of store_facts


def item_traces(
    conn: sqlite3.Connection, scope: Scope, ids: Sequence[str]
) -> list[tuple[str, bytes | None]]:
    """``(indexed text, vector)`` of every version the items ever had, current one included."""
    rowids = json.dumps([rowid for rowid, _ in _rows(conn, scope, ids)])
    rows = conn.execute(
        "SELECT i.search_text, v.vector FROM items i LEFT JOIN vectors v "
        "ON v.item_rowid = i.rowid WHERE i.rowid IN (SELECT value FROM json_each(?)) "
        "UNION SELECT search_text, vector FROM item_versions "
        "WHERE item_rowid IN (SELECT value FROM json_each(?))",
        (rowids, rowids),
    ).fetchall()
    return [(text, blob) for text, blob in rows]


def remove_items(
    conn: sqlite3.Connection,
    scope: Scope,
    ids: Sequence[str],
    *,
    allow_frozen: bool,
) -> ForgetResult:
    """Delete the items of the scope everywhere (inside the caller's transaction); a
    frozen item raises FrozenError unless ``allow_frozen``."""
    found = _rows(conn, scope, ids)
    frozen = [item.id for _, item in found if item.state == LifecycleState.FROZEN]
    if frozen and not allow_frozen:
        raise FrozenError(
            f"memory {frozen[0]} is frozen; its owner must unfreeze it before it can be forgotten",
            detail={"ids": frozen},
        )
    rowids = json.dumps([rowid for rowid, _ in found])
    (versions,) = conn.execute(
        "SELECT count(*) FROM item_versions WHERE item_rowid IN (SELECT value FROM json_each(?))",
        (rowids,),
    ).fetchone()
    conn.execute(
        "DELETE FROM item_versions WHERE item_rowid IN (SELECT value FROM json_each(?))", (rowids,)
    )
    conn.execute(
        "DELETE FROM vectors WHERE item_rowid IN (SELECT value FROM json_each(?))", (rowids,)
    )
    conn.execute("DELETE FROM items WHERE rowid IN (SELECT value FROM json_each(?))", (rowids,))
    removed = [item.id for _, item in found]
    cubes = sorted({item.cube_id for _, item in found})
    unlinked = _unlink(conn, cubes, removed)
    _recount_snapshots(conn, cubes)
    return ForgetResult(removed, cubes, int(versions), unlinked)


def _recount_snapshots(conn: sqlite3.Connection, cubes: Sequence[str]) -> None:
    """Set each snapshot of these cubes to the count of what it still holds."""
    marks = ", ".join("?" for _ in cubes) or "NULL"
    taken = conn.execute(
        f"SELECT cube_id, name, taken_at FROM cube_snapshots WHERE cube_id IN ({marks})", cubes
    ).fetchall()
    for cube_id, name, taken_at in taken:
        sql, params = as_of_sql(Scope("", (cube_id,)), from_micros(taken_at), None, "count(*)")
        (count,) = conn.execute(sql, params).fetchone()
        conn.execute(
            "UPDATE cube_snapshots SET item_count = ? WHERE cube_id = ? AND name = ?",
            (count, cube_id, name),
        )


def user_item_ids(conn: sqlite3.Connection, user_id: str) -> dict[str, list[str]]:
    """Ids of the items a user wrote or owns, and of every item in the user's cubes, by cube."""
    rows = conn.execute(
        "SELECT cube_id, id FROM items WHERE user_id = ? OR owner = ? "
        "OR cube_id IN (SELECT id FROM cubes WHERE owner = ?) ORDER BY rowid",
        (user_id, user_id, user_id),
    ).fetchall()
    found: dict[str, list[str]] = {}
    for cube_id, item_id in rows:
        found.setdefault(cube_id, []).append(item_id)
    return found


def remove_user(conn: sqlite3.Connection, user_id: str) -> list[str]:
    """Delete the user's (now empty) cubes, their snapshots and shares, and the user row."""
    cubes = [c for (c,) in conn.execute("SELECT id FROM cubes WHERE owner = ?", (user_id,))]
    conn.execute("DELETE FROM cubes WHERE owner = ?", (user_id,))
    conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
    return cubes


def compact(db: Database, *, rewrite: bool) -> bool:
    """Merge the FTS index and truncate the WAL to zero bytes (checkpointed into the file
    first): after :func:`remove_items`, no byte of the removed items is left.

    The merge drops the deleted terms that FTS5 keeps in its segments until
    then; the rest was zeroed as it was deleted, since every connection runs
    with ``secure_delete`` (SQLite builds without ``SQLITE_SECURE_DELETE`` do
    not zero by default). ``rewrite`` also VACUUMs a database whose free space
    may hold content deleted before that setting (one made before 2026-11-27:
    see :func:`note_free_space_zeroed`), once, under the write lock for as long
    as it takes (seconds at 100k memories).
    Returns False when a reader in another connection kept the WAL busy, so
    old pages may still sit in the ``-wal`` file (run it again later).
    """
    with db.write() as conn:
        conn.execute("INSERT INTO items_fts (items_fts) VALUES ('optimize')")
        zeroed = conn.execute(
            "SELECT 1 FROM store_facts WHERE name = ?", (FREE_SPACE_ZEROED,)
        ).fetchone()
    with db.exclusive() as conn:
        if rewrite and not zeroed:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("VACUUM")
            note_free_space_zeroed(conn)
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return int(busy) == 0


def note_free_space_zeroed(conn: sqlite3.Connection) -> None:
    """Record that no free space of the database can hold deleted content: it was made
    by connections that all zero what they delete, or VACUUMed by one."""
    conn.execute("INSERT OR IGNORE INTO store_facts (name, value) VALUES (?, '1')",
                 (FREE_SPACE_ZEROED,))


def _rows(
    conn: sqlite3.Connection, scope: Scope, ids: Sequence[str]
) -> list[tuple[int, MemoryItem]]:
    marks = ", ".join("?" for _ in scope.cube_ids) or "NULL"
    wanted = list(dict.fromkeys(ids))
    rows = conn.execute(
        "SELECT i.id, i.rowid, i.data FROM json_each(?) j CROSS JOIN items i ON i.id = j.value "
        f"WHERE i.cube_id IN ({marks})",
        (json.dumps(wanted), *scope.cube_ids),
    ).fetchall()
    by_id = {item_id: (int(rowid), load_item(data)) for item_id, rowid, data in rows}
    missing = [i for i in wanted if i not in by_id]
    if missing:
        raise NotFoundError(f"memory {missing[0]!r} not found", detail={"ids": missing[:10]})
    return [by_id[i] for i in wanted]


def _unlink(conn: sqlite3.Connection, cube_ids: list[str], removed: list[str]) -> list[str]:
    """Cut links (``supersedes``, ``superseded_by``, ``merged_from``) to removed items.

    Other items of the same cubes, and their earlier versions, are rewritten
    in place: a link is an id, and the removed ids must not stay behind.
    """
    gone = set(removed)
    marks = ", ".join("?" for _ in cube_ids)
    # one JSON parse skips the many rows without links, then each id is looked for
    # only in the few rows with some (a search for every id in every row took 60 s
    # for 200 ids in a cube of 100k)
    probe = (
        "json_extract(data, '$.supersedes', '$.merged_from', '$.previous_versions', "
        "'$.superseded_by') <> '[[],[],[],null]' "
        "AND EXISTS (SELECT 1 FROM json_each(?) r WHERE instr(data, r.value) > 0)"
    )
    changed: set[str] = set()
    for table, key in (("items", "rowid"), ("item_versions", "rowid")):
        rows = conn.execute(
            f"SELECT {key}, data FROM {table} WHERE cube_id IN ({marks}) AND {probe}",
            (*cube_ids, json.dumps(removed)),
        ).fetchall()
        for rowid, data in rows:
            item = load_item(data)
            update: dict[str, object] = {
                name: [i for i in getattr(item, name) if i not in gone] for name in _LINK_FIELDS
            }
            if item.superseded_by in gone:
                update["superseded_by"] = None
            fixed = item.model_copy(update=update)
            conn.execute(
                f"UPDATE {table} SET data = ? WHERE {key} = ?", (fixed.model_dump_json(), rowid)
            )
            changed.add(item.id)
    return sorted(changed)
