"""Trimming the change logs that in-memory indexes follow (``vector_changes``, ``text_changes``)."""

from __future__ import annotations

import sqlite3


def prune_log(conn: sqlite3.Connection, table: str, keep: int) -> None:
    """Trim a log to its last ``keep`` entries once it is twice that long (a process
    further behind reloads its index)."""
    # two subqueries: SQLite reads min() or max() off the rowid b-tree only when a
    # query has just one of them; together they scan the whole log
    low, high = conn.execute(
        f"SELECT (SELECT min(seq) FROM {table}), (SELECT max(seq) FROM {table})"
    ).fetchone()
    if low is not None and high - low > 2 * keep:
        conn.execute(f"DELETE FROM {table} WHERE seq <= ?", (high - keep,))
