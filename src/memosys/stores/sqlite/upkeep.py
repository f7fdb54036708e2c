"""The SQLite side of lifecycle upkeep: atomic change sets, the job ledger, slot keys.

See :class:`memosys.lifecycle.upkeep.UpkeepStore`. Item changes go through
the same functions as ordinary writes (:mod:`.writes`), so they are
versioned and indexed the same way, and deletions through forgetting
(:meth:`.lifecycle.SQLiteVersionStore.forget_items`), so they are erased the
same way; several of them share one ``BEGIN IMMEDIATE`` transaction together
with the job checkpoint.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from memosys.core.clock import Clock
from memosys.core.errors import ConflictError, NotFoundError
from memosys.core.items import MemoryItem
from memosys.lifecycle.upkeep import Checkpoint, EvictionOrder, ItemChanges, JobRun, JobStatus
from memosys.stores.base import Scope
from memosys.stores.sqlite import writes
from memosys.stores.sqlite.codec import load_item, micros
from memosys.stores.sqlite.connection import Database
from memosys.stores.sqlite.lifecycle import SQLiteVersionStore
from memosys.stores.sqlite.scope import visible
from memosys.stores.sqlite.vector_cache import VectorCache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RUN_COLUMNS = (
    "id, name, status, params, progress, cursor, result, error, pid, started_at, "
    "heartbeat_at, finished_at"
)
_EVICTION_SQL = {
    "lru": "COALESCE(i.last_accessed_at, i.created_at), i.rowid",
    "lfu": "i.access_count, COALESCE(i.last_accessed_at, i.created_at), i.rowid",
}


def _time(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def _json(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _run(row: Sequence[Any]) -> JobRun:
    (run_id, name, status, params, progress, cursor, result, error, pid, started, beat,
     finished) = row
    return JobRun(
        id=run_id, name=name, status=status, params=json.loads(params), progress=progress,
        cursor=_json(cursor), result=_json(result), error=error, pid=pid,
        started_at=_time(started), heartbeat_at=_time(beat), finished_at=_time(finished),
    )


def _latest(conn: sqlite3.Connection, name: str) -> tuple[int, str, int | None, int | None] | None:
    """``(id, status, pid, finished_at)`` of the latest run of ``name``."""
    row = conn.execute(
        "SELECT id, status, pid, finished_at FROM jobs WHERE name = ? ORDER BY id DESC LIMIT 1",
        (name,),
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), row[2], row[3])


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values) or "NULL"


class SQLiteUpkeep:
    """:class:`~memosys.lifecycle.upkeep.UpkeepStore` over a store's database."""

    def __init__(
        self, db: Database, vectors: VectorCache, versions: SQLiteVersionStore, clock: Clock
    ) -> None:
        self._db = db
        self._vectors = vectors
        self._versions = versions
        self._clock = clock

    # change sets

    def apply(self, scope: Scope, changes: ItemChanges, checkpoint: Checkpoint | None) -> None:
        """Write ``changes`` and ``checkpoint`` in one transaction (all or nothing);
        deleted items are forgotten (see the protocol)."""
        with self._db.write() as conn:
            if changes.added:
                writes.add_items(
                    conn, changes.added, changes.vectors, changes.fingerprint, self._clock.now()
                )
            for item in changes.updated:
                writes.update_item(conn, scope, item, None, changes.note, self._clock.now())
            if changes.deleted:
                self._versions.forget_items(scope, changes.deleted, allow_frozen=False)
            if checkpoint is not None:
                self._checkpoint(conn, checkpoint)
        if changes.added or changes.deleted:
            self._vectors.mark_dirty()

    def _checkpoint(self, conn: sqlite3.Connection, checkpoint: Checkpoint) -> None:
        conn.execute(
            "UPDATE jobs SET progress = ?, cursor = ?, heartbeat_at = ? WHERE id = ?",
            (checkpoint.progress, json.dumps(checkpoint.cursor), micros(self._clock.now()),
             checkpoint.run_id),
        )

    # slot keys

    def set_slot_keys(self, cube_id: str, keys: Mapping[str, Sequence[str]]) -> None:
        """Replace the slot keys of these items (item id -> keys)."""
        if not keys:
            return
        with self._db.write() as conn:
            rows = conn.execute(
                "SELECT i.id, i.rowid FROM json_each(?) j CROSS JOIN items i ON i.id = j.value "
                "WHERE i.cube_id = ?",
                (json.dumps(list(keys)), cube_id),
            ).fetchall()
            rowids = dict(rows)
            conn.execute(
                "DELETE FROM slot_keys WHERE item_rowid IN (SELECT value FROM json_each(?))",
                (json.dumps(list(rowids.values())),),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO slot_keys (item_rowid, cube_id, key) VALUES (?, ?, ?)",
                [(rowids[i], cube_id, k) for i, ks in keys.items() if i in rowids for k in ks],
            )

    def slot_groups(
        self, scope: Scope, keys: Sequence[str], states: Sequence[str]
    ) -> dict[str, list[MemoryItem]]:
        """Visible items in these states per slot key, in the order they were stored."""
        if not keys:
            return {}
        where, params = visible(scope, self._clock.now())
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT s.key, i.data FROM json_each(?) j CROSS JOIN slot_keys s "
                "ON s.key = j.value CROSS JOIN items i ON i.rowid = s.item_rowid "
                f"WHERE s.cube_id IN ({_marks(scope.cube_ids)}) AND {where} "
                f"AND i.state IN ({_marks(states)}) ORDER BY i.rowid",
                (json.dumps(sorted(set(keys))), *scope.cube_ids, *params, *states),
            ).fetchall()
        groups: dict[str, list[MemoryItem]] = {}
        for key, data in rows:
            groups.setdefault(key, []).append(load_item(data))
        return groups

    # scans for jobs

    def scan(
        self, after: int, limit: int, *, states: Sequence[str] | None = None,
        expired_at: datetime | None = None,
    ) -> list[tuple[int, MemoryItem]]:
        """Items of every cube after storage position ``after`` (see the protocol)."""
        where: list[str] = ["i.rowid > ?"]
        params: list[Any] = [after]
        if states is not None:
            where.append(f"i.state IN ({_marks(states)})")
            params.extend(states)
        if expired_at is not None:
            where.append("i.expires_at IS NOT NULL AND i.expires_at <= ?")
            params.append(micros(expired_at))
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT i.rowid, i.data FROM items i WHERE {' AND '.join(where)} "
                "ORDER BY i.rowid LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [(rowid, load_item(data)) for rowid, data in rows]

    def merged_items(self, scope: Scope, prefix: str) -> list[MemoryItem]:
        """Items of the scope's cubes made by a merge (content hash starting with ``prefix``,
        now or in an earlier version), in every state, tombstones included."""
        marks = _marks(scope.cube_ids)
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT i.data FROM items i WHERE i.cube_id IN ({marks}) "
                "AND (substr(i.content_hash, 1, ?) = ? OR i.rowid IN ("
                f"SELECT v.item_rowid FROM item_versions v WHERE v.cube_id IN ({marks}) "
                "AND substr(v.content_hash, 1, ?) = ?)) ORDER BY i.rowid",
                (*scope.cube_ids, len(prefix), prefix, *scope.cube_ids, len(prefix), prefix),
            ).fetchall()
        return [load_item(data) for (data,) in rows]

    def usage(self, states: Sequence[str]) -> list[tuple[str, str, int]]:
        """``(user id, kind, count)`` of the unexpired items in ``states``."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT user_id, kind, count(*) FROM items "
                f"WHERE state IN ({_marks(states)}) AND (expires_at IS NULL OR expires_at > ?) "
                "GROUP BY user_id, kind ORDER BY user_id, kind",
                (*states, micros(self._clock.now())),
            ).fetchall()
        return [(str(u), str(k), int(n)) for u, k, n in rows]

    def eviction_order(
        self, user_id: str, kind: str | None, states: Sequence[str], order: EvictionOrder,
        limit: int,
    ) -> list[MemoryItem]:
        """The user's items (of ``kind``, or all kinds) that ``order`` evicts first."""
        kind_sql, kind_params = ("AND i.kind = ?", [kind]) if kind is not None else ("", [])
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT i.data FROM items i WHERE i.user_id = ? {kind_sql} "
                f"AND i.state IN ({_marks(states)}) "
                "AND (i.expires_at IS NULL OR i.expires_at > ?) "
                f"ORDER BY {_EVICTION_SQL[order]} LIMIT ?",
                (user_id, *kind_params, *states, micros(self._clock.now()), limit),
            ).fetchall()
        return [load_item(data) for (data,) in rows]

    # the job ledger

    def start_run(self, name: str, params: dict[str, Any], pid: int, now: datetime) -> JobRun:
        """Record a new running run."""
        with self._db.write() as conn:
            run_id = self._insert_run(conn, name, params, pid, now)
        return self._must_run(run_id)

    @staticmethod
    def _insert_run(
        conn: sqlite3.Connection, name: str, params: dict[str, Any], pid: int, now: datetime
    ) -> int:
        cursor = conn.execute(
            "INSERT INTO jobs (name, status, params, pid, started_at, heartbeat_at) "
            "VALUES (?, 'running', ?, ?, ?, ?)",
            (name, json.dumps(params, sort_keys=True), pid, micros(now), micros(now)),
        )
        return int(cursor.lastrowid or 0)

    def claim_run(
        self, name: str, params: dict[str, Any], pid: int, now: datetime,
        alive: Callable[[int], bool],
    ) -> JobRun:
        """Start a run of ``name``, or take over its unfinished run (see the protocol)."""
        with self._db.write() as conn:
            run_id = self._claim(conn, _latest(conn, name), name, params, pid, now, alive)
        return self._must_run(run_id)

    def claim_due(
        self, name: str, params: dict[str, Any], pid: int, now: datetime,
        alive: Callable[[int], bool], every_s: float,
    ) -> JobRun | None:
        """Claim a run of ``name`` if it is due (see the protocol)."""
        with self._db.write() as conn:
            latest = _latest(conn, name)
            if latest is not None and latest[1] != "running" and latest[3] is not None and (
                latest[3] > micros(now) - int(every_s * 1_000_000)
            ):
                return None
            try:
                run_id = self._claim(conn, latest, name, params, pid, now, alive)
            except ConflictError:
                return None
        return self._must_run(run_id)

    def _claim(
        self, conn: sqlite3.Connection, latest: tuple[int, str, int | None, int | None] | None,
        name: str, params: dict[str, Any], pid: int, now: datetime,
        alive: Callable[[int], bool],
    ) -> int:
        if latest is None or latest[1] != "running":
            return self._insert_run(conn, name, params, pid, now)
        run_id, _, holder, _ = latest
        if holder is not None and holder != pid and alive(holder):
            raise ConflictError(
                f"job {name!r} is already running (run {run_id}, process {holder}); "
                "wait for it, or stop that process and run it again to resume",
                detail={"job": name, "run_id": run_id, "pid": holder},
            )
        conn.execute("UPDATE jobs SET pid = ?, heartbeat_at = ? WHERE id = ?",
                     (pid, micros(now), run_id))
        return run_id

    def release_run(self, run_id: int, now: datetime) -> JobRun:
        """Leave a run unfinished and held by no process (any runner resumes it)."""
        with self._db.write() as conn:
            conn.execute("UPDATE jobs SET pid = NULL, heartbeat_at = ? WHERE id = ?",
                         (micros(now), run_id))
        return self._must_run(run_id)

    @property
    def location(self) -> str:
        """The database file (a unique name for an in-memory database)."""
        return self._db.path if self._db.path != ":memory:" else f":memory:{id(self)}"

    def finish_run(
        self, run_id: int, status: JobStatus, result: dict[str, Any] | None, error: str | None,
        now: datetime,
    ) -> JobRun:
        """Record how a run ended."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, result = ?, error = ?, finished_at = ?, "
                "heartbeat_at = ? WHERE id = ?",
                (status, None if result is None else json.dumps(result), error, micros(now),
                 micros(now), run_id),
            )
        return self._must_run(run_id)

    def runs(self, name: str | None, limit: int) -> list[JobRun]:
        """The latest runs (of one job, or all), newest first."""
        where, params = ("WHERE name = ?", [name]) if name is not None else ("", [])
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM jobs {where} ORDER BY id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [_run(row) for row in rows]

    def run(self, run_id: int) -> JobRun | None:
        """One run by id."""
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM jobs WHERE id = ?", (run_id,)
            ).fetchone()
        return None if row is None else _run(row)

    def _must_run(self, run_id: int) -> JobRun:
        found = self.run(run_id)
        if found is None:
            raise NotFoundError(f"job run {run_id} not found", detail={"run_id": run_id})
        return found
