"""The embedded SQLite store: one database file per data directory.

Users, cubes and items are rows whose ``data`` column holds the model's JSON
(returned verbatim); items also have a real column per filterable field, an
FTS5 row and, when embedded, a vector. Every item read carries the scope,
expiry and filter in its SQL (:mod:`.scope`); writes run in ``BEGIN
IMMEDIATE`` transactions (:mod:`.connection`). Large cubes keep an HNSW index
in ``<path>.ann/`` beside the database (:mod:`.ann`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from memosys.core.clock import Clock
from memosys.core.cube import MemCube, User
from memosys.core.errors import InvalidInputError, MemosysError
from memosys.core.filters import Filter
from memosys.core.items import ItemView, MemoryItem
from memosys.settings import StoreSettings
from memosys.stores.base import AddResult, OrderBy, Scope, ScoredId, Vectors
from memosys.stores.sqlite import forget, search, writes
from memosys.stores.sqlite.codec import VIEW_COLUMNS, load_item, load_view, micros
from memosys.stores.sqlite.connection import Database
from memosys.stores.sqlite.governance import SQLiteGovernance
from memosys.stores.sqlite.index_keeper import IndexKeeper
from memosys.stores.sqlite.lifecycle import SQLiteVersionStore
from memosys.stores.sqlite.scope import visible
from memosys.stores.sqlite.sign_ins import SQLiteSignIns
from memosys.stores.sqlite.text_mirror import TextMirror
from memosys.stores.sqlite.upkeep import SQLiteUpkeep
from memosys.stores.sqlite.vector_cache import VectorCache

_log = logging.getLogger(__name__)

_ORDER_COLUMNS: dict[str, str] = {
    "created_at": "created_at",
    "event_time": "event_time",
    "position": "position",
}
_JSON_TIME = TypeAdapter(datetime)


class SQLiteStore:
    """A :class:`~memosys.stores.base.Store` in one SQLite file (or ``":memory:"``)."""

    def __init__(
        self, path: str | Path, settings: StoreSettings, clock: Clock, *,
        shared_indexes: bool = False,
    ) -> None:
        """``shared_indexes``: the processes opening ``path`` so share one HNSW index per
        large cube, kept by one of them (:mod:`.vector_cache`)."""
        self.settings = settings
        self.clock = clock
        self._db = Database(path, settings.lock_timeout_s)
        if self._db.created:
            with self._db.write() as conn:
                forget.note_free_space_zeroed(conn)
        self._sign_ins = SQLiteSignIns(path, settings.lock_timeout_s)
        self.governance = SQLiteGovernance(self._db, self._sign_ins)
        """Keys, shares and the audit log (:class:`~memosys.governance.store.GovernanceStore`)."""
        ann_folder = None if str(path) == ":memory:" else Path(f"{path}.ann")
        self._vectors = VectorCache(settings.ann_threshold, ann_folder, shared=shared_indexes)
        self._text = TextMirror(self._db, settings.text_mirror_inline_rows)
        self.versions = SQLiteVersionStore(self._db, clock, self._vectors, self._text)
        """Versions, time travel, snapshots and forgetting (:mod:`.lifecycle`)."""
        self.upkeep = SQLiteUpkeep(self._db, self._vectors, self.versions, clock)
        """Atomic change sets, jobs and slot keys (:mod:`memosys.lifecycle.upkeep`)."""

    # users and cubes

    def put_user(self, user: User) -> User:
        """Insert or replace a user (matched by id)."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO users (id, created_at, data) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (user.id, micros(user.created_at), user.model_dump_json()),
            )
        return user

    def get_user(self, user_id: str) -> User | None:
        """The user with this id, if any."""
        with self._db.read() as conn:
            row = conn.execute("SELECT data FROM users WHERE id = ?", (user_id,)).fetchone()
        return None if row is None else User.model_validate_json(row[0])

    def put_cube(self, cube: MemCube) -> MemCube:
        """Insert or update a cube; an embedder already recorded for it is kept."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO cubes (id, owner, name, embedder_fingerprint, created_at, data) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, "
                "name = excluded.name, data = excluded.data, embedder_fingerprint = "
                "COALESCE(cubes.embedder_fingerprint, excluded.embedder_fingerprint)",
                (cube.id, cube.owner, cube.name, cube.embedder_fingerprint,
                 micros(cube.created_at), cube.model_dump_json()),
            )
            row = conn.execute(
                "SELECT data, embedder_fingerprint FROM cubes WHERE id = ?", (cube.id,)
            ).fetchone()
        return _cube(row[0], row[1])

    def get_cube(self, cube_id: str) -> MemCube | None:
        """The cube with this id, if any."""
        return self._one_cube("id = ?", (cube_id,))

    def find_cube(self, owner: str, name: str) -> MemCube | None:
        """The cube of ``owner`` called ``name``, if any."""
        return self._one_cube("owner = ? AND name = ?", (owner, name))

    def list_cubes(self, owner: str | None = None) -> list[MemCube]:
        """All cubes, or those of one owner, oldest first."""
        where, params = ("owner = ?", (owner,)) if owner is not None else ("1", ())
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT data, embedder_fingerprint FROM cubes WHERE {where} "
                "ORDER BY created_at, id",
                params,
            ).fetchall()
        return [_cube(data, fingerprint) for data, fingerprint in rows]

    # items

    def add_items(
        self,
        items: Sequence[MemoryItem],
        vectors: Vectors | None,
        embedder_fingerprint: str | None,
        *,
        repeats_in_any_state: bool = False,
    ) -> AddResult:
        """Write items, text-index rows and vectors in one transaction (see the protocol)."""
        with self._db.write() as conn:
            result = writes.add_items(
                conn, items, vectors, embedder_fingerprint, self.clock.now(), repeats_in_any_state
            )
        if vectors is not None:
            self._vectors_changed()
        return result

    def get_items(self, scope: Scope, ids: Sequence[str]) -> list[MemoryItem]:
        """The visible items with these ids, in the order asked; others are skipped."""
        found = dict(self._by_ids(scope, ids, "i.data"))
        return [load_item(found[i]) for i in ids if i in found]

    def item_views(self, scope: Scope, ids: Sequence[str]) -> list[ItemView]:
        """What re-ranking reads of the items :meth:`get_items` would return, in that order."""
        found = {row[0]: row for row in self._by_ids(scope, ids, VIEW_COLUMNS)}
        return [load_view(found[i]) for i in ids if i in found]

    def _by_ids(self, scope: Scope, ids: Sequence[str], columns: str) -> list[Any]:
        """Rows of ``i.id, <columns>`` of the visible items with these ids."""
        where, params = visible(scope, self.clock.now())
        with self._db.read() as conn:
            return conn.execute(
                f"SELECT i.id, {columns} FROM json_each(?) j CROSS JOIN items i "
                f"ON i.id = j.value WHERE {where}",
                (json.dumps(list(ids)), *params),
            ).fetchall()

    def update_item(
        self, scope: Scope, item: MemoryItem, vector: Vectors | None, *, note: str | None = None
    ) -> MemoryItem:
        """Write a new version of an item of the scope (see the protocol); NotFoundError
        when it is not there."""
        with self._db.write() as conn:
            updated = writes.update_item(conn, scope, item, vector, note, self.clock.now())
        self._vectors_changed()
        return updated

    def delete_items(self, scope: Scope, ids: Sequence[str]) -> int:
        """Delete items of the scope with their index rows and vectors; returns how many."""
        with self._db.write() as conn:
            count = writes.delete_items(conn, scope, ids)
        self._vectors_changed()
        return count

    def list_items(
        self,
        scope: Scope,
        filters: Filter | None = None,
        limit: int = 100,
        offset: int = 0,
        order_by: OrderBy = "created_at",
    ) -> list[MemoryItem]:
        """Visible items matching ``filters``, ascending by ``order_by`` (missing values last)."""
        column = _ORDER_COLUMNS.get(order_by)
        if column is None:
            raise InvalidInputError(
                f"cannot order items by {order_by!r}; use one of {', '.join(_ORDER_COLUMNS)}"
            )
        where, params = visible(scope, self.clock.now(), filters)
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT i.data FROM items i WHERE {where} "
                f"ORDER BY i.{column} IS NULL, i.{column}, i.rowid LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [load_item(data) for (data,) in rows]

    def count_items(self, scope: Scope, filters: Filter | None = None) -> int:
        """How many visible items match ``filters``."""
        where, params = visible(scope, self.clock.now(), filters)
        with self._db.read() as conn:
            row = conn.execute(f"SELECT count(*) FROM items i WHERE {where}", params).fetchone()
        return int(row[0])

    def neighbours(
        self, scope: Scope, item: MemoryItem, before: int, after: int
    ) -> list[MemoryItem]:
        """Up to ``before``/``after`` visible items of the same cube and session, by position."""
        if item.session_id is None or item.position is None or item.cube_id not in scope.cube_ids:
            return []
        same = Scope(scope.user_id, (item.cube_id,))
        where, params = visible(same, self.clock.now())
        sql = (
            f"SELECT i.data FROM items i WHERE {where} AND i.session_id = ? AND i.id <> ? "
            "AND i.position {op} ? ORDER BY i.position {direction}, i.rowid {direction} LIMIT ?"
        )
        base = (*params, item.session_id, item.id, item.position)
        with self._db.read() as conn:
            earlier = conn.execute(sql.format(op="<", direction="DESC"), (*base, before)).fetchall()
            later = conn.execute(sql.format(op=">", direction="ASC"), (*base, after)).fetchall()
        return [load_item(d) for (d,) in reversed(earlier)] + [load_item(d) for (d,) in later]

    def views_at(
        self, scope: Scope, places: Sequence[tuple[str, str, int]], filters: Filter | None = None
    ) -> list[ItemView]:
        """Views of the visible items matching ``filters`` at these (cube id, session id,
        position) places."""
        if not places:
            return []
        where, params = visible(scope, self.clock.now(), filters)
        sql = (
            f"SELECT i.id, {VIEW_COLUMNS} FROM json_each(?) j CROSS JOIN items i "
            "ON i.cube_id = json_extract(j.value, '$[0]') "
            "AND i.session_id = json_extract(j.value, '$[1]') "
            "AND i.position = json_extract(j.value, '$[2]') "
            f"WHERE {where}"
        )
        with self._db.read() as conn:
            rows = conn.execute(sql, (json.dumps([list(p) for p in places]), *params)).fetchall()
        return [load_view(row) for row in rows]

    # retrieval

    def text_search(
        self, scope: Scope, query: str, filters: Filter | None, limit: int
    ) -> list[ScoredId]:
        """BM25 full-text search; scores are positive, higher is better."""
        with self._db.read() as conn:
            return search.text_search(
                conn, scope, query, filters, limit, self.clock.now(), self._text
            )

    def vector_search(
        self, scope: Scope, vector: Vectors, filters: Filter | None, limit: int
    ) -> list[ScoredId]:
        """Nearest visible items by cosine similarity to ``vector``."""
        with self._db.read() as conn:
            return search.vector_search(
                conn, self._vectors, scope, vector, filters, limit, self.clock.now()
            )

    def wait_for_vector_index(self, cube_id: str, timeout: float | None = None) -> bool:
        """Build (or load) the HNSW index of a large cube now and wait for it.

        Returns True when the cube searches through HNSW, False when it is
        below ``ann_threshold`` (exact search) or the build has not finished
        within ``timeout`` seconds. Searches never wait: they score exactly
        until the index is ready.
        """
        with self._db.read() as conn:
            found = self._vectors.cubes(conn, (cube_id,))
            if not found or not found[0].approximate:
                return False
            index = found[0]
            if index.start_ann():
                return True
        index.join_build(timeout)
        with self._db.read():
            return index.start_ann()

    def warm_indexes(self) -> threading.Thread:
        """Load the in-memory search indexes in a background thread (returned), so that
        the first searches after opening find them loaded (see the protocol)."""
        thread = threading.Thread(target=self._warm, name="memosys-warm", daemon=True)
        thread.start()
        return thread

    def _warm(self) -> None:
        try:
            with self._db.read() as conn:
                self._text.current(conn)  # starts loading the BM25 mirror
                cube_ids = [c for (c,) in conn.execute(
                    "SELECT id FROM cubes WHERE vector_dim IS NOT NULL ORDER BY created_at"
                )]
            for cube_id in cube_ids:  # one at a time: a build takes every core but one
                self.wait_for_vector_index(cube_id)
            self._text.wait_loaded()
        except MemosysError as exc:  # closed meanwhile: searches load what they need
            _log.info("search indexes not loaded ahead: %s", exc)

    def keep_shared_indexes(self, stop: threading.Event) -> threading.Thread:
        """Keep the shared HNSW index of each large cube that no other process keeps, and
        follow the others' writes into it until ``stop`` is set (a background thread,
        returned; see :mod:`.index_keeper`). Only with ``shared_indexes``."""
        return IndexKeeper(self._db, self._vectors, stop).thread

    def record_access(self, ids: Sequence[str], at: datetime) -> None:
        """Count one access of each item at ``at`` (columns and JSON alike)."""
        if not ids:
            return
        when = _JSON_TIME.dump_python(at, mode="json")
        with self._db.write() as conn:
            conn.execute(
                "UPDATE items SET access_count = access_count + 1, last_accessed_at = ?, "
                "data = json_set(data, '$.access_count', access_count + 1, "
                "'$.last_accessed_at', ?) WHERE id IN (SELECT value FROM json_each(?))",
                (micros(at), when, json.dumps(list(ids))),
            )

    # vectors

    def replace_vectors(
        self, cube_id: str, ids: Sequence[str], vectors: Vectors, embedder_fingerprint: str
    ) -> None:
        """Overwrite vectors of a cube and record its new embedder (``reembed``).

        A new fingerprint drops the cube's other vectors, which the old model made.
        """
        with self._db.write() as conn:
            writes.replace_vectors(conn, cube_id, ids, vectors, embedder_fingerprint)
        self._vectors.mark_dirty()

    def repeat_vectors(
        self, items: Sequence[MemoryItem], embedder_fingerprint: str
    ) -> dict[int, Vectors]:
        """Vectors of the stored items that these repeat exactly (see the protocol)."""
        with self._db.read() as conn:
            return writes.repeat_vectors(conn, items, embedder_fingerprint, self.clock.now())

    def transaction(self) -> AbstractContextManager[object]:
        """One write transaction that the store writes inside join (see the protocol)."""
        return self._db.write()

    def stats(self, cube_ids: Sequence[str] | None = None) -> dict[str, int]:
        """Counts of users, cubes, items and vectors, and the database size in bytes;
        with ``cube_ids``, counts of those cubes and of their items and vectors."""
        if cube_ids is not None:
            return self._cube_stats(cube_ids)
        with self._db.read() as conn:
            counts = {
                table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in ("users", "cubes", "items", "vectors")
            }
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            size = conn.execute("PRAGMA page_size").fetchone()[0]
        return {**counts, "db_bytes": int(pages) * int(size)}

    def _cube_stats(self, cube_ids: Sequence[str]) -> dict[str, int]:
        ids = json.dumps(list(cube_ids))  # one parameter, however many cubes
        with self._db.read() as conn:
            return {
                table: int(conn.execute(
                    f"SELECT count(*) FROM {table} WHERE {column} IN "
                    "(SELECT value FROM json_each(?))",
                    (ids,),
                ).fetchone()[0])
                for table, column in (("cubes", "id"), ("items", "cube_id"), ("vectors", "cube_id"))
            }

    def close(self) -> None:
        """Save changed vector indexes and close the database; the store cannot be used
        afterwards."""
        if self._db.closed:
            return
        self._text.close()
        self._vectors.close()
        with self._db.read():
            self._vectors.save_indexes()
        self._db.close()
        self._sign_ins.close()

    def _vectors_changed(self) -> None:
        """This store's write changed vectors: the loaded indexes read the log once it
        commits, so the next search need not (HNSW inserts follow in the background, see
        :mod:`.vector_cache`; the text mirror, :mod:`.text_mirror`)."""
        self._vectors.mark_dirty()
        self._db.after_commit(self._catch_up_vectors)

    def _catch_up_vectors(self) -> None:
        self._apply_logs(self._vectors.catch_up)

    def take_in_changes(self) -> None:
        """Apply the change logs to the loaded vector indexes and BM25 mirror now (see
        the protocol); the HNSW inserts follow in the background."""
        self._apply_logs(self._vectors.catch_up, self._text.catch_up)

    def _apply_logs(self, *indexes: Callable[[sqlite3.Connection], None]) -> None:
        """Bring these in-memory indexes up to date after a write; a failure is logged,
        not raised: the write is committed, and the next search catches up."""
        try:
            with self._db.read() as conn:
                for catch_up in indexes:
                    catch_up(conn)
        except MemosysError as exc:
            _log.warning("search indexes not updated after a write: %s", exc)

    def _one_cube(self, where: str, params: tuple[str, ...]) -> MemCube | None:
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT data, embedder_fingerprint FROM cubes WHERE {where}", params
            ).fetchone()
        return None if row is None else _cube(row[0], row[1])


def _cube(data: str, fingerprint: str | None) -> MemCube:
    cube = MemCube.model_validate_json(data)
    if cube.embedder_fingerprint != fingerprint:
        cube = cube.model_copy(update={"embedder_fingerprint": fingerprint})
    return cube
