"""The SQLite side of :class:`~memosys.stores.base.VersionStore`: history, time travel,
rollback, snapshots and forgetting.

Reached as ``SQLiteStore.versions``; it shares the store's connection, clock
and vector cache. The SQL of versions is in :mod:`.versions`, that of
forgetting in :mod:`.forget`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from functools import partial

from memosys.core.clock import Clock
from memosys.core.context import acting_user
from memosys.core.errors import ConflictError, FrozenError, InvalidInputError, NotFoundError
from memosys.core.filters import Filter
from memosys.core.history import CubeSnapshot, ItemVersion, RestoreReport
from memosys.core.items import LifecycleState, MemoryItem
from memosys.lifecycle.states import tombstone
from memosys.stores.base import ForgetResult, OrderBy, Scope, ScoredId, Vectors
from memosys.stores.sqlite import forget
from memosys.stores.sqlite.as_of_search import items_as_of, rank_as_of
from memosys.stores.sqlite.change_log import last_position
from memosys.stores.sqlite.codec import load_item, micros
from memosys.stores.sqlite.connection import Database
from memosys.stores.sqlite.text_mirror import TextMirror
from memosys.stores.sqlite.vector_cache import VectorCache
from memosys.stores.sqlite.versions import (
    as_of_sql,
    current_row,
    from_micros,
    guard_change,
    history,
    restore_rows,
    state_before_freeze,
    version_row,
)

# what a rollback keeps of the current version, with the state
_STATE_FIELDS = ("supersedes", "superseded_by", "merged_from", "previous_versions", "valid_to")
_ORDER = {"created_at": "created_at", "event_time": "event_time", "position": "position"}


class SQLiteVersionStore:
    """Versions, time travel, snapshots and forgetting of one SQLite store."""

    def __init__(
        self, db: Database, clock: Clock, vectors: VectorCache, text: TextMirror
    ) -> None:
        self._db = db
        self._clock = clock
        self._vectors = vectors
        self._text = text

    # versions

    def history(self, scope: Scope, item_id: str) -> list[ItemVersion]:
        """Every version of an item of the scope, oldest first (tombstones included)."""
        with self._db.read() as conn:
            return history(conn, scope, item_id)

    def rollback(self, scope: Scope, item_id: str, version: int) -> MemoryItem:
        """Make version ``version`` of an item current again, as a new version.

        Content, metadata and vector come back; the lifecycle state stays as
        it is, with its links (``supersedes``, ``superseded_by``,
        ``merged_from``), ``valid_to`` and ``expires_at``. Frozen and deleted items are
        refused like any change.
        """
        with self._db.write() as conn:
            rowid, item = current_row(conn, scope, item_id)
            if version == item.version:
                raise InvalidInputError(
                    f"version {version} is already the current version of memory {item_id}",
                    detail={"id": item_id, "version": version},
                )
            found = version_row(conn, rowid, version)
            if found is None:
                raise NotFoundError(
                    f"memory {item_id} has no version {version}; see `memosys history "
                    f"{item_id}` for its versions",
                    detail={"id": item_id, "version": version},
                )
            old, blob = found
            # the state stays, and so do the links and end of validity that go with it
            restored = _restored(old, item, self._clock.now(), item.state).model_copy(
                update={name: getattr(item, name) for name in _STATE_FIELDS}
            )
            guard_change(conn, rowid, item, restored, scope.user_id)
            written = restore_rows(
                conn,
                [(rowid, restored, blob)],
                scope.user_id,
                f"rollback to version {version}",
                self._clock.now(),
            )[0]
        self._vectors.mark_dirty()
        return written

    # time travel

    def list_as_of(
        self,
        scope: Scope,
        at: datetime,
        filters: Filter | None = None,
        limit: int = 100,
        offset: int = 0,
        order_by: OrderBy = "created_at",
    ) -> list[MemoryItem]:
        """Items of the scope as they stood at ``at``, like ``Store.list_items``."""
        column = _ORDER.get(order_by)
        if column is None:
            raise InvalidInputError(
                f"cannot order items by {order_by!r}; use one of {list(_ORDER)}"
            )
        sql, params = as_of_sql(scope, at, filters, "i.data")
        sql += f" ORDER BY i.{column} IS NULL, i.{column}, i.item_rowid LIMIT ? OFFSET ?"
        with self._db.read() as conn:
            rows = conn.execute(sql, (*params, limit, offset)).fetchall()
        return [load_item(data) for (data,) in rows]

    def rank_as_of(
        self,
        scope: Scope,
        at: datetime,
        filters: Filter | None,
        *,
        query: str | None,
        vector: Vectors | None,
        limit: int,
    ) -> dict[str, list[ScoredId]]:
        """BM25 (``query``) and dense (``vector``) rankings of the scope as it stood at ``at``."""
        with self._db.read() as conn:
            return rank_as_of(conn, self._vectors, scope, at, filters, query=query,
                              vector=vector, limit=limit)

    def get_as_of(self, scope: Scope, at: datetime, ids: Sequence[str]) -> list[MemoryItem]:
        """These items as they stood at ``at``, in the order asked (missing ones skipped)."""
        with self._db.read() as conn:
            found = items_as_of(conn, scope, at, ids)
        return [load_item(found[i]) for i in ids if i in found]

    # snapshots

    def create_snapshot(self, cube_id: str, name: str, user_id: str) -> CubeSnapshot:
        """Name the cube's present state, for ``user_id``; ConflictError if the name is
        taken. The snapshot records who took it (:func:`acting_user`)."""
        with self._db.write() as conn:
            (latest,) = conn.execute(
                "SELECT max(COALESCE(recorded_at, created_at)) FROM items WHERE cube_id = ?",
                (cube_id,),
            ).fetchone()
            # at or after every recorded write (a burst of writes can run a few µs ahead)
            now = max(self._clock.now(), from_micros(latest or 0))
            taken = conn.execute(
                "SELECT 1 FROM cube_snapshots WHERE cube_id = ? AND name = ?", (cube_id, name)
            ).fetchone()
            if taken is not None:
                raise ConflictError(
                    f"cube {cube_id} already has a snapshot called {name!r}; pick another "
                    "name or delete that snapshot first",
                    detail={"cube_id": cube_id, "name": name},
                )
            sql, params = as_of_sql(Scope(user_id, (cube_id,)), now, None, "count(*)")
            (count,) = conn.execute(sql, params).fetchone()
            by = acting_user(user_id)
            conn.execute(
                "INSERT INTO cube_snapshots (cube_id, name, taken_at, taken_by, item_count) "
                "VALUES (?, ?, ?, ?, ?)",
                (cube_id, name, micros(now), by, count),
            )
        return CubeSnapshot(
            cube_id=cube_id, name=name, taken_at=now, taken_by=by, item_count=count
        )

    def snapshots(self, cube_ids: Sequence[str], name: str | None = None) -> list[CubeSnapshot]:
        """Snapshots of these cubes (only those called ``name`` when given), oldest first."""
        marks = ", ".join("?" for _ in cube_ids) or "NULL"
        where, params = f"cube_id IN ({marks})", list(cube_ids)
        if name is not None:
            where, params = f"{where} AND name = ?", [*params, name]
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT cube_id, name, taken_at, taken_by, item_count FROM cube_snapshots "
                f"WHERE {where} ORDER BY taken_at, name",
                params,
            ).fetchall()
        return [
            CubeSnapshot(cube_id=c, name=n, taken_at=from_micros(t), taken_by=b, item_count=k)
            for c, n, t, b, k in rows
        ]

    def delete_snapshot(self, cube_id: str, name: str) -> bool:
        """Forget a snapshot's name (its versions stay); whether it existed."""
        with self._db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM cube_snapshots WHERE cube_id = ? AND name = ?", (cube_id, name)
            )
        return cursor.rowcount > 0

    def restore_snapshot(self, snapshot: CubeSnapshot, user_id: str) -> RestoreReport:
        """Make the cube's items what they were at the snapshot, each as a new version.

        Items changed since come back as they were, items added since become
        tombstones, deleted ones come back. Forgotten ones are not in the snapshot
        any more (forgetting removes every version). Expiry dates stay as they are now.
        Nothing changes if any item that would change is frozen (FrozenError). An item
        frozen at the snapshot comes back frozen only when its owner restores; for
        anyone else it comes back in the state it was frozen from (only the owner
        freezes, see :func:`.versions.guard_change`).
        """
        scope = Scope(user_id, (snapshot.cube_id,))
        now = self._clock.now()
        report = RestoreReport(snapshot=snapshot.name)
        with self._db.write() as conn:
            sql, params = as_of_sql(
                scope, snapshot.taken_at, None, "i.item_rowid, i.data, i.vector"
            )
            then = {rowid: (load_item(d), b) for rowid, d, b in conn.execute(sql, params)}
            rows = conn.execute(
                "SELECT rowid, data FROM items WHERE cube_id = ?", (snapshot.cube_id,)
            ).fetchall()
            changes: list[tuple[int, MemoryItem, bytes | None]] = []
            frozen: list[str] = []
            for rowid, data in rows:
                item = load_item(data)
                old = then.get(rowid)
                if old is not None and old[0].version == item.version:
                    report.unchanged += 1
                    continue
                if old is not None:
                    state = _restored_state(conn, rowid, old[0], user_id)
                    changes.append((rowid, _restored(old[0], item, now, state), old[1]))
                    report.restored += 1
                elif item.state != LifecycleState.DELETED:
                    changes.append((rowid, tombstone(item, now), None))
                    report.removed += 1
                else:
                    continue
                if item.state == LifecycleState.FROZEN:
                    frozen.append(item.id)
            if frozen:
                raise FrozenError(
                    f"{len(frozen)} memories of the cube are frozen and would change, e.g. "
                    f"{frozen[0]}; their owner must unfreeze them before the restore",
                    detail={"ids": frozen[:10]},
                )
            report.changed_ids = [item.id for _, item, _ in changes]
            restore_rows(conn, changes, user_id, f"restore snapshot {snapshot.name!r}", now)
        self._vectors.mark_dirty()
        return report

    # forgetting

    def item_traces(self, scope: Scope, ids: Sequence[str]) -> list[tuple[str, bytes | None]]:
        """``(indexed text, vector bytes)`` of every version of these items (to verify that
        a forget left none of them)."""
        with self._db.read() as conn:
            return forget.item_traces(conn, scope, ids)

    def forget_items(
        self, scope: Scope, ids: Sequence[str], *, allow_frozen: bool
    ) -> ForgetResult:
        """Remove items everywhere: rows, versions, text index, vectors and the cube's saved
        HNSW index; what it frees is zeroed. Inside a caller's write it joins that
        transaction, and the saved indexes go once it commits (:meth:`_forgotten_in`).
        Call :meth:`compact` afterwards (once for many calls) to clear the file."""
        with self._db.write() as conn:
            result = forget.remove_items(conn, scope, ids, allow_frozen=allow_frozen)
            seq = last_position(conn, "vector_changes")
        self._db.after_commit(partial(self._forgotten_in, result.cube_ids, seq))
        return result

    def _forgotten_in(self, cube_ids: list[str], seq: int) -> None:
        """Delete the cubes' saved HNSW files, which hold the removed vectors, and drop the
        text mirror, so that no token of a removed text stays in memory (it loads again
        on demand). The loaded vector indexes take the removal in as they take any
        change, and their next save zeroes the removed vectors (:mod:`.freed_slots`):
        dropping them made the keeper build the index anew, minutes at 1M vectors."""
        self._vectors.remove_saved(cube_ids, seq)
        self._text.drop()

    def _drop_loaded(self, cube_ids: list[str], seq: int) -> None:
        """Drop the (removed) cubes' loaded vector indexes and saved HNSW files, and the
        text mirror."""
        self._vectors.forget_cubes(cube_ids, seq)
        self._text.drop()

    def user_item_ids(self, user_id: str) -> dict[str, list[str]]:
        """Ids of the items a user wrote or owns and of all items in the user's cubes, by cube."""
        with self._db.read() as conn:
            return forget.user_item_ids(conn, user_id)

    def remove_user(self, user_id: str) -> list[str]:
        """Delete the user's cubes (with their snapshots and shares) and the user; their ids."""
        with self._db.write() as conn:
            cubes = forget.remove_user(conn, user_id)
            seq = last_position(conn, "vector_changes")
        self._db.after_commit(partial(self._drop_loaded, cubes, seq))
        return cubes

    def compact(self, *, rewrite: bool = True) -> bool:
        """Merge the text index and empty the WAL; ``rewrite``: also rewrite the database
        file without free space (see :func:`.forget.compact`).

        Returns False when another connection kept the WAL from being emptied.
        """
        return forget.compact(self._db, rewrite=rewrite)


def _restored_state(
    conn: sqlite3.Connection, rowid: int, old: MemoryItem, user_id: str
) -> LifecycleState:
    """The state that a restore by ``user_id`` gives back to ``old``, a version of the item
    at ``rowid``: its own, unless it was frozen and ``user_id`` is not its owner."""
    if old.state != LifecycleState.FROZEN or user_id == old.owner:
        return old.state
    return state_before_freeze(conn, rowid, up_to=old.version)


def _restored(
    old: MemoryItem, current: MemoryItem, now: datetime, state: LifecycleState
) -> MemoryItem:
    """``old``'s content and metadata with ``current``'s identity, usage counts and
    expiry (a retention decision made since is not undone by going back)."""
    keep = {
        name: getattr(current, name)
        for name in (
            "id", "cube_id", "created_at", "access_count", "last_accessed_at", "expires_at"
        )
    }
    return old.model_copy(update={**keep, "updated_at": now, "state": state})
