"""The change logs that in-memory indexes follow (``vector_changes``, ``text_changes``):
their last position, and trimming them."""

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


def last_position(conn: sqlite3.Connection, table: str) -> int:
    """The position of a log's last entry (0 when it is empty)."""
    (seq,) = conn.execute(f"SELECT COALESCE(max(seq), 0) FROM {table}").fetchone()
    return int(seq)
