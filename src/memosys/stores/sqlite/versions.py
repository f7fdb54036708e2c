"""Item versions in SQLite: the guard and copy that every update runs, history and time travel.

:func:`write_version` is the one way an item's row changes: it copies the
replaced row (with its vector) into ``item_versions`` and writes the new one,
inside the caller's transaction. A version was current during
``[recorded_from, recorded_to)`` of transaction time; the current row's
period starts at ``items.recorded_at`` (``created_at`` for older rows).
:func:`as_of_sql` reads a scope as it stood at a time by taking, for each
item, the row that was current then.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from memosys.core.context import acting_user
from memosys.core.errors import (
    ConflictError,
    FrozenError,
    NotFoundError,
    PermissionDeniedError,
    memory_not_found,
)
from memosys.core.filters import Filter
from memosys.core.history import ItemVersion
from memosys.core.items import LifecycleState, MemoryItem
from memosys.lifecycle.states import NOT_CURRENT, check_transition
from memosys.stores.base import Scope
from memosys.stores.sqlite.codec import (
    ITEM_COLUMNS,
    MAX_INTEGER,
    UPDATE_ITEM_SQL,
    item_row,
    load_item,
    micros,
)
from memosys.stores.sqlite.filters import compile_filter

_COLUMNS = ", ".join(ITEM_COLUMNS)
_ITEM_COLUMNS = ", ".join(f"i.{c}" for c in ITEM_COLUMNS)
_RECORDED = "COALESCE(i.recorded_at, i.created_at)"
_ARCHIVE_SQL = (
    f"INSERT INTO item_versions (item_rowid, {_COLUMNS}, data, vector, recorded_from, "
    "recorded_to, replaced_by, note) "
    f"SELECT i.rowid, {_ITEM_COLUMNS}, i.data, v.vector, {_RECORDED}, ?, ?, ? "
    "FROM items i LEFT JOIN vectors v ON v.item_rowid = i.rowid WHERE i.rowid = ?"
)
UPSERT_VECTOR_SQL = (
    "INSERT INTO vectors (item_rowid, cube_id, vector) VALUES (?, ?, ?) "
    "ON CONFLICT (item_rowid) DO UPDATE SET cube_id = excluded.cube_id, vector = excluded.vector"
)
_UPDATE_SQL = UPDATE_ITEM_SQL.replace(", data = ? WHERE", ", data = ?, recorded_at = ? WHERE")
# derived or usage fields: their change does not make a version different in content
_BOOKKEEPING = frozenset(
    {"version", "updated_at", "access_count", "last_accessed_at", "content_hash"}
)
_FROZEN = LifecycleState.FROZEN
_DELETED = LifecycleState.DELETED


def guard_change(
    conn: sqlite3.Connection, rowid: int, old: MemoryItem, new: MemoryItem, actor: str
) -> None:
    """Refuse a change (of the item at ``rowid``) that the lifecycle forbids.

    A deleted item (a tombstone) cannot change; a frozen one can only be
    unfrozen, by its owner, back to the state it was frozen in, with nothing
    else changed; only its owner freezes it, too (a writer of a shared cube who
    froze another's memory could not have unfrozen it); any other state change must
    be allowed by :mod:`memosys.lifecycle.states`.
    """
    if old.state == _DELETED:
        raise NotFoundError(
            f"memory {old.id} was deleted; its history stays readable, add the content "
            "again to store it anew",
            detail={"id": old.id},
        )
    if old.state == _FROZEN:
        if new.state != state_before_freeze(conn, rowid) or changed_fields(old, new) != ["state"]:
            raise FrozenError(
                f"memory {old.id} is frozen; its owner must unfreeze it "
                f"(`memosys unfreeze {old.id}`) before it can be changed or deleted",
                detail={"id": old.id, "owner": old.owner},
            )
        if actor != old.owner:
            raise PermissionDeniedError(
                f"only the owner {old.owner!r} can unfreeze memory {old.id}",
                detail={"id": old.id, "owner": old.owner},
            )
        return
    if new.state == _FROZEN and actor != old.owner:
        raise PermissionDeniedError(
            f"only the owner {old.owner!r} can freeze memory {old.id} (and unfreeze it); "
            "ask them to freeze it",
            detail={"id": old.id, "owner": old.owner},
        )
    if new.state != old.state:
        check_transition(old.state, new.state)


def state_before_freeze(
    conn: sqlite3.Connection, rowid: int, up_to: int | None = None
) -> LifecycleState:
    """The state of the latest version of the item at ``rowid`` that was not frozen (of
    those up to version ``up_to``, if given)."""
    row = conn.execute(
        "SELECT state FROM item_versions WHERE item_rowid = ? AND state <> ? "
        "AND version <= ? ORDER BY version DESC LIMIT 1",
        (rowid, _FROZEN.value, up_to if up_to is not None else 2**62),
    ).fetchone()
    return LifecycleState.GENERATED if row is None else LifecycleState(row[0])


def write_version(
    conn: sqlite3.Connection,
    rowid: int,
    item: MemoryItem,
    user_id: str,
    note: str | None,
    now: datetime,
) -> MemoryItem:
    """Copy row ``rowid`` (with its vector) into the versions and write ``item`` in its place.

    The new row's version is the old one's plus one; returns the item written.
    The replaced version records who replaced it: the actor of a change made
    for ``user_id`` (:func:`~memosys.core.context.acting_user`).
    """
    (start,) = conn.execute(
        f"SELECT {_RECORDED} FROM items i WHERE i.rowid = ?", (rowid,)
    ).fetchone()
    at = max(transaction_time(conn, now), int(start) + 1)  # a version lasts at least 1 µs
    conn.execute(_ARCHIVE_SQL, (at, acting_user(user_id), note, rowid))
    (version,) = conn.execute("SELECT version FROM items WHERE rowid = ?", (rowid,)).fetchone()
    written = item.model_copy(update={"version": int(version) + 1})
    conn.execute(_UPDATE_SQL, (*item_row(written), at, rowid))
    return written


def restore_rows(
    conn: sqlite3.Connection,
    changes: Sequence[tuple[int, MemoryItem, bytes | None]],
    user_id: str,
    note: str,
    now: datetime,
) -> list[MemoryItem]:
    """Write each ``(rowid, item, vector)`` as a new version for ``user_id``, without the
    state checks.

    For rollback and snapshot restore, whose callers checked what they
    restore. A vector is put back when given and of the cube's dimension.
    Content hashes are claimed once every row is written, as a restore can
    swap texts between memories (see :func:`claim_hash`).
    """
    written = []
    for rowid, item, blob in changes:
        unclaimed = item.model_copy(update={"content_hash": ""})
        written.append(write_version(conn, rowid, unclaimed, user_id, note, now))
        if blob is None:
            continue
        (dim,) = conn.execute(
            "SELECT vector_dim FROM cubes WHERE id = ?", (item.cube_id,)
        ).fetchone()
        if dim is None or len(blob) == int(dim) * 4:
            conn.execute(UPSERT_VECTOR_SQL, (rowid, item.cube_id, blob))
    return [
        claim_hash(conn, rowid, row, item.content_hash) if item.content_hash else row
        for (rowid, item, _), row in zip(changes, written, strict=True)
    ]


def claim_hash(conn: sqlite3.Connection, rowid: int, item: MemoryItem, wanted: str) -> MemoryItem:
    """Give ``item`` (at ``rowid``, restored or updated) its content hash ``wanted``, in place.

    Another memory may hold the same text: a stale
    one (superseded, merged, archived) gives the hash up to a current one,
    as on add; two current memories cannot hold it (ConflictError naming
    the other one, and nothing of the restore is written).
    """
    row = conn.execute(
        "SELECT data FROM items WHERE cube_id = ? AND user_id = ? AND content_hash = ? "
        "AND rowid <> ?",
        (item.cube_id, item.user_id, wanted, rowid),
    ).fetchone()
    if row is not None:
        holder = load_item(row[0])
        if item.state in NOT_CURRENT:
            return item  # stale itself: the current memory keeps the hash
        if holder.state not in NOT_CURRENT:
            raise ConflictError(
                f"memory {holder.id} holds the same content that memory {item.id} would get; "
                f"delete, forget or change memory {holder.id} first",
                detail={"id": item.id, "holder": holder.id},
            )
        conn.execute(
            "UPDATE items SET content_hash = '', data = json_set(data, '$.content_hash', '') "
            "WHERE id = ?",
            (holder.id,),
        )
    conn.execute(
        "UPDATE items SET content_hash = ?, data = json_set(data, '$.content_hash', ?) "
        "WHERE rowid = ?",
        (wanted, wanted, rowid),
    )
    return item.model_copy(update={"content_hash": wanted})


def current_row(conn: sqlite3.Connection, scope: Scope, item_id: str) -> tuple[int, MemoryItem]:
    """The rowid and current version of an item of the scope, tombstones included."""
    marks = ", ".join("?" for _ in scope.cube_ids) or "NULL"
    row = conn.execute(
        f"SELECT rowid, data FROM items WHERE id = ? AND cube_id IN ({marks})",
        (item_id, *scope.cube_ids),
    ).fetchone()
    if row is None:
        raise memory_not_found(item_id)
    return int(row[0]), load_item(row[1])


def transaction_time(conn: sqlite3.Connection, now: datetime) -> int:
    """The transaction time to record a write at: ``now``, but always after the last
    snapshot, so a write in the same microsecond as a snapshot is not part of it."""
    (last,) = conn.execute("SELECT max(taken_at) FROM cube_snapshots").fetchone()
    return micros(now) if last is None else max(micros(now), int(last) + 1)


def changed_fields(before: MemoryItem, after: MemoryItem) -> list[str]:
    """Names of the fields that differ between two versions (bookkeeping fields left out)."""
    old, new = before.model_dump(), after.model_dump()
    return sorted(k for k in new if k not in _BOOKKEEPING and old.get(k) != new[k])


def history(conn: sqlite3.Connection, scope: Scope, item_id: str) -> list[ItemVersion]:
    """Every version of an item in the scope (deleted ones too), oldest first."""
    rowid, current = current_row(conn, scope, item_id)
    (recorded, created_by) = conn.execute(
        f"SELECT {_RECORDED}, i.created_by FROM items i WHERE i.rowid = ?", (rowid,)
    ).fetchone()
    rows = conn.execute(
        "SELECT data, recorded_from, recorded_to, replaced_by, note FROM item_versions "
        "WHERE item_rowid = ? ORDER BY version",
        (rowid,),
    ).fetchall()
    periods = [(load_item(d), f, t) for d, f, t, _, _ in rows] + [(current, recorded, None)]
    authors = [created_by or periods[0][0].user_id] + [by for *_, by, _ in rows]
    notes: list[str | None] = [None] + [note for *_, note in rows]
    result: list[ItemVersion] = []
    for n, (item, start, end) in enumerate(periods):
        result.append(
            ItemVersion(
                version=item.version,
                changed_by=authors[n],
                recorded_from=from_micros(start),
                recorded_to=None if end is None else from_micros(end),
                changes=["created"] if n == 0 else changed_fields(periods[n - 1][0], item),
                note=notes[n],
                item=item,
            )
        )
    return result


def version_row(
    conn: sqlite3.Connection, rowid: int, version: int
) -> tuple[MemoryItem, bytes | None] | None:
    """An archived version of the item at ``rowid`` with its vector, if it exists."""
    if version > MAX_INTEGER:  # no such version (and SQLite could not be asked)
        return None
    row = conn.execute(
        "SELECT data, vector FROM item_versions WHERE item_rowid = ? AND version = ?",
        (rowid, version),
    ).fetchone()
    return None if row is None else (load_item(row[0]), row[1])


def as_of_sql(
    scope: Scope,
    at: datetime,
    filters: Filter | None,
    select: str,
    *,
    include_deleted: bool = False,
) -> tuple[str, list[Any]]:
    """A query of the scope's items as they stood at ``at``.

    ``select`` lists the output columns of alias ``i`` (``i.item_rowid`` is
    the item's rowid, ``i.vector`` its vector then). Items expired at ``at``
    are left out, and so are tombstones unless ``include_deleted``.
    """
    marks = ", ".join("?" for _ in scope.cube_ids) or "NULL"  # no cubes: no rows
    when = micros(at)
    filter_sql, filter_params = compile_filter(filters, "i")
    deleted = "1" if include_deleted else f"i.state <> '{_DELETED.value}'"
    sql = (
        f"SELECT {select} FROM ("
        f"SELECT i.rowid AS item_rowid, {_ITEM_COLUMNS}, i.data, v.vector FROM items i "
        "LEFT JOIN vectors v ON v.item_rowid = i.rowid "
        f"WHERE i.cube_id IN ({marks}) AND {_RECORDED} <= ? "
        f"UNION ALL SELECT item_rowid, {_COLUMNS}, data, vector FROM item_versions "
        f"WHERE cube_id IN ({marks}) AND recorded_from <= ? AND recorded_to > ?"
        f") AS i WHERE (i.expires_at IS NULL OR i.expires_at > ?) AND {deleted} AND {filter_sql}"
    )
    params = [*scope.cube_ids, when, *scope.cube_ids, when, when, when, *filter_params]
    return sql, params


def from_micros(value: int) -> datetime:
    """The aware UTC datetime of integer microseconds since the epoch."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value))
