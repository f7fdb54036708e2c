"""Numbered, checksummed migrations: the generic runner and the SQLite schema."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from memosys.core.errors import MigrationError
from memosys.stores.migrate import Migration, checksum, load_migrations, run_migrations
from memosys.stores.sqlite import SQLiteStore


class PlainTarget:
    """A minimal MigrationTarget over a real sqlite3 connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def applied(self) -> dict[str, str]:
        self.conn.execute("CREATE TABLE IF NOT EXISTS history (name TEXT, sum TEXT)")
        return dict(self.conn.execute("SELECT name, sum FROM history").fetchall())

    def apply(self, migration: Migration) -> None:
        self.conn.execute(migration.sql)
        self.conn.execute("INSERT INTO history VALUES (?, ?)", (migration.name, migration.checksum))


def migration(number: int, sql: str) -> Migration:
    return Migration(number, f"{number:04d}_step.sql", sql, checksum(sql))


def test_runner_applies_pending_migrations_once_in_order(tmp_path: Path) -> None:
    target = PlainTarget(sqlite3.connect(tmp_path / "x.db", isolation_level=None))
    first = [migration(1, "CREATE TABLE a (x)")]
    assert run_migrations(target, first) == ["0001_step.sql"]
    both = [*first, migration(2, "CREATE TABLE b (y)")]
    assert run_migrations(target, both) == ["0002_step.sql"]
    assert run_migrations(target, both) == []


def test_runner_rejects_an_edited_or_unknown_migration(tmp_path: Path) -> None:
    target = PlainTarget(sqlite3.connect(tmp_path / "x.db", isolation_level=None))
    run_migrations(target, [migration(1, "CREATE TABLE a (x)"), migration(2, "CREATE TABLE b (y)")])
    with pytest.raises(MigrationError, match="0002_step.sql"):
        run_migrations(target, [migration(1, "CREATE TABLE a (x)"),
                                migration(2, "CREATE TABLE b (z)")])
    with pytest.raises(MigrationError, match="does not know"):
        run_migrations(target, [migration(1, "CREATE TABLE a (x)")])


def test_failed_migration_leaves_no_trace(tmp_path: Path) -> None:
    target = PlainTarget(sqlite3.connect(tmp_path / "x.db", isolation_level=None))
    with pytest.raises(sqlite3.OperationalError):
        run_migrations(target, [migration(1, "CREATE TABLE a (x)"), migration(2, "NOT SQL")])
    assert target.applied() == {}


def test_shipped_sqlite_migrations_are_numbered() -> None:
    names = [m.name for m in load_migrations("memosys.stores.sqlite.migrations")]
    assert names[0] == "0001_init.sql"


def test_store_refuses_a_database_whose_migration_changed(
    open_store: Callable[..., SQLiteStore], db_path: Path
) -> None:
    open_store().close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE _memosys_migrations SET checksum = 'abc' WHERE name = '0001_init.sql'")
    with pytest.raises(MigrationError, match="0001_init.sql"):
        open_store()


def test_store_refuses_a_database_from_a_newer_version(
    open_store: Callable[..., SQLiteStore], db_path: Path
) -> None:
    open_store().close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO _memosys_migrations VALUES ('0099_future.sql', 'x', 'now')")
    with pytest.raises(MigrationError, match="0099_future.sql"):
        open_store()


def test_store_refuses_another_programs_database_and_leaves_it_unchanged(
    open_store: Callable[..., SQLiteStore], db_path: Path
) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO orders VALUES (1, 9.5)")
    conn.close()
    before = db_path.read_bytes()
    with pytest.raises(MigrationError, match="not a memosys database.*orders"):
        open_store()
    assert db_path.read_bytes() == before  # no memosys tables, still a rollback journal


def test_store_takes_an_empty_database_file_as_new(
    open_store: Callable[..., SQLiteStore], db_path: Path
) -> None:
    db_path.write_bytes(b"")
    open_store().close()
