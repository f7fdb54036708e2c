"""Failed authentication attempts of one client, read and written inside the
write transaction of :meth:`SQLiteGovernance.failures_locked`.

Holding ``BEGIN IMMEDIATE`` from the count to the record makes each attempt
one step for every process on the file (see :mod:`memosys.governance.ratelimit`).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from memosys.stores.sqlite.codec import from_micros, micros


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

    def clear(self) -> None:
        """Forget the client's failures."""
        self._conn.execute("DELETE FROM auth_failures WHERE client = ?", (self._client,))
