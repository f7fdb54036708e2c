"""Translation of sqlite3 errors into the memosys error tree."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from memosys.core.errors import ConflictError, LockTimeoutError, MemosysError, StoreError

_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED (primary codes)


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says another connection holds a lock this one needs."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _BUSY_CODES:
        return True
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


def closed_store(path: str) -> StoreError:
    """The error for using a store after it was closed."""
    return StoreError(f"the store at {path} is closed; open a new one")


def translate(exc: sqlite3.Error, path: str, lock_timeout_s: float) -> MemosysError:
    """The memosys error for a sqlite3 error raised while using the database at ``path``."""
    if is_busy(exc):
        return LockTimeoutError(
            f"another process holds the write lock on {path} and did not release it within "
            f"{lock_timeout_s:g}s; wait for it to finish, or raise the timeout with the "
            "setting store.lock_timeout_s (MEMOSYS_STORE__LOCK_TIMEOUT_S)",
            detail={"path": path, "lock_timeout_s": lock_timeout_s},
        )
    if isinstance(exc, sqlite3.IntegrityError):
        return ConflictError(
            f"the write conflicts with stored data ({exc}); use a new id, or update the "
            "existing record instead",
            detail={"path": path, "sqlite_error": str(exc)},
        )
    return StoreError(
        f"SQLite error on {path}: {exc}; check that the file is a memosys database, "
        "is writable and the disk is not full",
        detail={"path": path, "sqlite_error": str(exc)},
    )


@contextmanager
def mapped_errors(path: str, lock_timeout_s: float) -> Iterator[None]:
    """Re-raise sqlite3 errors from the block as memosys errors."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc, path, lock_timeout_s) from exc
