"""Sign-in bookkeeping (failed attempts, and when each key was last used), in a
small SQLite database of its own.

The file sits beside the store (``memosys.db.auth``), so what a sign-in writes
takes a write lock that no memory write holds: a request's authentication
never waits for an add, an import or a forget's compaction. Each attempt is
one ``BEGIN IMMEDIATE`` transaction from the count to the record, one step
for every process on the data directory (see :mod:`memosys.governance.ratelimit`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from memosys.stores.sqlite.codec import from_micros, micros
from memosys.stores.sqlite.connection import Database

AUTH_MIGRATIONS = "memosys.stores.sqlite.auth_migrations"


def auth_database_path(store_path: str | Path) -> str:
    """The auth database beside a store file (in memory for ``":memory:"``)."""
    return ":memory:" if str(store_path) == ":memory:" else f"{store_path}.auth"


class SQLiteSignIns:
    """A :class:`~memosys.governance.ratelimit.FailureLog`, and the keys' last use,
    in their own database file."""

    def __init__(self, store_path: str | Path, lock_timeout_s: float) -> None:
        self._db = Database(auth_database_path(store_path), lock_timeout_s, AUTH_MIGRATIONS)

    @contextmanager
    def failures_locked(self, client: str) -> Iterator[SQLiteClientFailures]:
        """The failures of ``client`` inside one ``BEGIN IMMEDIATE`` transaction."""
        with self._db.write() as conn:
            yield SQLiteClientFailures(conn, client)

    def has_failures(self, client: str, since: datetime) -> bool:
        """Whether ``client`` failed after ``since`` (a read, without the write lock)."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT 1 FROM auth_failures WHERE client = ? AND at > ? LIMIT 1",
                (client, micros(since)),
            ).fetchone()
        return row is not None

    def record_use(self, key_id: str, at: datetime) -> None:
        """Record that the key was used at ``at``."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO key_use (key_id, last_used_at) VALUES (?, ?) ON CONFLICT (key_id) "
                "DO UPDATE SET last_used_at = max(last_used_at, excluded.last_used_at)",
                (key_id, micros(at)),
            )

    def last_uses(self, key_ids: Sequence[str]) -> dict[str, datetime]:
        """When each of these keys was last used, for those recorded here."""
        if not key_ids:
            return {}
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT u.key_id, u.last_used_at FROM json_each(?) j "
                "CROSS JOIN key_use u ON u.key_id = j.value",
                (json.dumps(list(key_ids)),),
            ).fetchall()
        return {key_id: from_micros(at) for key_id, at in rows}

    def close(self) -> None:
        """Close the database; later calls raise :class:`~memosys.core.errors.StoreError`."""
        self._db.close()


class SQLiteClientFailures:
    """The ``auth_failures`` rows of one client, on a connection inside a write."""

    def __init__(self, conn: sqlite3.Connection, client: str) -> None:
        self._conn = conn
        self._client = client

    def recent(self, since: datetime, limit: int) -> list[datetime]:
        """The newest failures after ``since``, newest first, at most ``limit``."""
        rows = self._conn.execute(
            "SELECT at FROM auth_failures WHERE client = ? AND at > ? ORDER BY at DESC LIMIT ?",
            (self._client, micros(since), limit),
        ).fetchall()
        return [from_micros(at) for (at,) in rows]

    def add(self, at: datetime, forget_before: datetime) -> None:
        """Count a failure; drop every failure at or before ``forget_before`` (any client)."""
        self._conn.execute("DELETE FROM auth_failures WHERE at <= ?", (micros(forget_before),))
        self._conn.execute(
            "INSERT INTO auth_failures (client, at) VALUES (?, ?)", (self._client, micros(at))
        )
