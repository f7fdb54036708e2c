"""The embedded SQLite store (the default backend)."""

from memosys.stores.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
