"""The one SQLite connection of a store: pragmas, locking, transactions, migrations.

A :class:`Database` holds one writer connection, guarded by a re-entrant
lock, and up to :data:`READERS` read-only connections that threads borrow
(first come, first served: :mod:`.reader_pool`): with WAL, reads on several
threads run at once and never wait for a writer.
The writer runs in autocommit mode and opens write transactions itself with
``BEGIN IMMEDIATE``, so a second writer waits up to ``lock_timeout_s`` at the
start of its transaction instead of failing midway. It waits by trying again
every 0.2 to 2 ms: SQLite's own busy handler sleeps longer each try, up to
100 ms, so with several writer processes (``serve --workers``) a waiting
writer slept through most moments the lock was free. Writes nest: several
store calls share one transaction when a caller opens an outer
:meth:`Database.write` (e.g. an item change and its audit record), and a
read inside a thread's write runs on the writer, so it sees that write.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from memosys.core.errors import MigrationError, StoreError
from memosys.stores.migrate import HISTORY_TABLE, Migration, load_migrations, run_migrations
from memosys.stores.sqlite.errors import closed_store, is_busy, mapped_errors
from memosys.stores.sqlite.reader_pool import ReaderPool

MIGRATIONS_PACKAGE = "memosys.stores.sqlite.migrations"
CACHE_KIB = 65_536  # page cache per connection
READERS = 4  # read connections at most; more concurrent reads wait for one
MMAP_BYTES = 1 << 30  # reads of a hot database go through the OS page cache without syscalls
_NESTED = "memosys_nested"  # the savepoint of a write inside another write
WRITE_LOCK_RETRY_S = (0.0002, 0.002)  # the first and the longest pause between tries


class Database:
    """A thread-safe SQLite connection with WAL, foreign keys and mapped errors, its
    schema brought up to date from the ``migrations`` package."""

    def __init__(
        self, path: str | Path, lock_timeout_s: float, migrations: str = MIGRATIONS_PACKAGE
    ) -> None:
        self.path = str(path)
        self.lock_timeout_s = lock_timeout_s
        self._lock = threading.RLock()
        self._closed = False
        self._holding = threading.local()  # how deep this thread is inside the writer's lock
        self._commits = 0
        self._commit_listeners: list[Callable[[], None]] = []
        # another connection to ":memory:" would open another, empty database
        self._pooled = self.path != ":memory:"
        self._readers = ReaderPool(self._connect_reader, READERS, self.path)
        with mapped_errors(self.path, lock_timeout_s):
            self._conn = self._connect()
        try:
            with mapped_errors(self.path, lock_timeout_s):
                _refuse_foreign(self._conn, self.path)  # before WAL, which changes the file
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = NORMAL")
            known = load_migrations(migrations)
            applied = run_migrations(_SQLiteMigrations(self), known)
            self.created = known[0].name in applied
            """Whether this open made the database (its first migration ran)."""
        except BaseException:
            self.close()
            raise

    def _connect(self, *pragmas: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.lock_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.lock_timeout_s * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA secure_delete = ON")  # see forget.compact
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            for pragma in pragmas:
                conn.execute(pragma)
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads (each statement sees the latest commit).

        Inside this thread's :meth:`write` or :meth:`exclusive` it is the
        writer, so reads see the open transaction (and always for an
        in-memory database); else a read-only connection of the pool,
        borrowed for the block.
        """
        if self.in_write() or not self._pooled:
            with self.exclusive() as conn:
                yield conn
            return
        conn = self._readers.borrow()
        try:
            with mapped_errors(self.path, self.lock_timeout_s):
                yield conn
        finally:
            self._readers.give_back(conn)

    def in_write(self) -> bool:
        """Whether this thread is inside :meth:`write` or :meth:`exclusive` (its changes
        may not be committed yet)."""
        return bool(getattr(self._holding, "depth", 0))

    @contextmanager
    def exclusive(self) -> Iterator[sqlite3.Connection]:
        """The writer connection outside a transaction, for what must not run in one
        (VACUUM, checkpoints, per-connection pragmas) and for migrations."""
        with self._lock, mapped_errors(self.path, self.lock_timeout_s):
            conn = self._open_connection()
            self._holding.depth = getattr(self._holding, "depth", 0) + 1
            try:
                yield conn
            finally:
                self._holding.depth -= 1

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: commits at the end, rolls back on any error.

        Inside another ``write`` of the same thread it joins that transaction
        as a savepoint: its changes commit with the outer one, and an error
        undoes only its own changes before it propagates.
        """
        committed = False
        with self.exclusive() as conn:
            # holding the lock, an open transaction can only be this thread's own
            nested = conn.in_transaction
            if nested:
                conn.execute(f"SAVEPOINT {_NESTED}")
            else:
                self._begin_immediate(conn)
            try:
                yield conn
                conn.execute(f"RELEASE {_NESTED}" if nested else "COMMIT")
                committed = not nested
                self._commits += committed
            except BaseException:
                if conn.in_transaction:
                    conn.execute(f"ROLLBACK TO {_NESTED}" if nested else "ROLLBACK")
                    if nested:
                        conn.execute(f"RELEASE {_NESTED}")
                if not nested:
                    self._holding.__dict__.pop("after_commit", None)
                raise
        if committed:
            for callback in self._holding.__dict__.pop("after_commit", []):
                callback()
            for listener in self._commit_listeners:
                listener()

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        """Take the write lock, trying again every 0.2 to 2 ms while another connection
        holds it, for up to ``lock_timeout_s``."""
        deadline = time.monotonic() + self.lock_timeout_s
        pause, longest = WRITE_LOCK_RETRY_S
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not is_busy(exc) or time.monotonic() >= deadline:
                        raise
                time.sleep(pause)
                pause = min(2 * pause, longest)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self.lock_timeout_s * 1000)}")

    @property
    def commits(self) -> int:
        """How many write transactions this object committed (``PRAGMA data_version`` counts
        only other connections' commits)."""
        return self._commits

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (once) when this thread's outermost :meth:`write` commits,
        not if it rolls back; outside a write, call it now."""
        if not self.in_write():
            callback()
            return
        pending: list[Callable[[], None]] = self._holding.__dict__.setdefault("after_commit", [])
        if callback not in pending:
            pending.append(callback)

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every write transaction this object commits, in the
        thread that wrote, after its :meth:`after_commit` callbacks (keep it short)."""
        self._commit_listeners.append(listener)

    def _connect_reader(self) -> sqlite3.Connection:
        with mapped_errors(self.path, self.lock_timeout_s):
            return self._connect("PRAGMA query_only = ON")

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Close the connections (borrowed ones when they come back); later calls raise
        :class:`StoreError`."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
                self._readers.close()

    def _open_connection(self) -> sqlite3.Connection:
        if self._closed:
            raise closed_store(self.path)
        return self._conn


def _refuse_foreign(conn: sqlite3.Connection, path: str) -> None:
    """MigrationError for a database that holds tables but no migration history: another
    program's database, which the migrations would have altered (an empty file or a new
    database is fine: the migrations create the schema)."""
    names = [str(row[0]) for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    )]
    if names and HISTORY_TABLE not in names:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise MigrationError(
            f"{path} is not a memosys database (it holds the tables {shown} and no "
            f"{HISTORY_TABLE}); left unchanged: point --data at a memosys data directory, "
            "or move that file away",
            detail={"path": path, "tables": names[:20]},
        )


class _SQLiteMigrations:
    """The migration runner's view of a :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def locked(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.write()

    def applied(self) -> dict[str, str]:
        with self._db.read() as conn:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (HISTORY_TABLE,)
            ).fetchone()
            if exists is None:
                return {}
            rows = conn.execute(f"SELECT name, checksum FROM {HISTORY_TABLE}").fetchall()
        return {str(name): str(digest) for name, digest in rows}

    def apply(self, migration: Migration) -> None:
        with self._db.exclusive() as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} "
                "(name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            for statement in split_statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {HISTORY_TABLE} (name, checksum, applied_at) VALUES (?, ?, ?)",
                (migration.name, migration.checksum, datetime.now(UTC).isoformat()),
            )


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (triggers stay whole)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and any(
        part.strip() and not part.strip().startswith("--") for part in buffer.splitlines()
    ):
        raise StoreError(f"incomplete SQL statement at the end of a migration: {buffer.strip()!r}")
    return statements
