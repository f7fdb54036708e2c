"""Numbered, checksummed SQL migrations, shared by every SQL dialect.

A dialect ships files named ``NNNN_name.sql`` in a package folder. At open,
:func:`run_migrations` applies the ones not yet applied, in order, each in
the same transaction as its row in the history table (``_memosys_migrations``:
name, sha256, applied_at). A file that was applied once and has changed since
raises :class:`~memosys.core.errors.MigrationError` naming the file, and so
does a database that holds migrations this code does not know (it was written
by a newer memosys).

The runner only talks to a :class:`MigrationTarget`, a three-method adapter
that each dialect (SQLite now, PostgreSQL later) implements.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

from memosys.core.errors import MigrationError

HISTORY_TABLE = "_memosys_migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One migration file: its number, file name, SQL text and sha256."""

    number: int
    name: str
    sql: str
    checksum: str


class MigrationTarget(Protocol):
    """What the runner needs from a database connection."""

    def locked(self) -> AbstractContextManager[object]:
        """A transaction holding the write lock; commits on success, rolls back on error."""
        ...

    def applied(self) -> dict[str, str]:
        """Applied migrations, file name -> sha256; empty when the history table is missing."""
        ...

    def apply(self, migration: Migration) -> None:
        """Run the migration's SQL and record it in the history table (inside ``locked``)."""
        ...


def checksum(sql: str) -> str:
    """The sha256 of a migration's text, as hex."""
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()


def load_migrations(package: str) -> list[Migration]:
    """The ``NNNN_name.sql`` files of a package folder, ordered by number."""
    found: list[Migration] = []
    for entry in resources.files(package).iterdir():
        match = _NAME.match(entry.name)
        if match is None:
            continue
        sql = entry.read_text(encoding="utf-8")
        found.append(Migration(int(match.group(1)), entry.name, sql, checksum(sql)))
    found.sort(key=lambda m: m.number)
    numbers = [m.number for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise MigrationError(
            f"migrations in {package} must be numbered 0001, 0002, ... without gaps; "
            f"found {[m.name for m in found]}"
        )
    return found


def _pending(applied: dict[str, str], migrations: Sequence[Migration]) -> list[Migration]:
    known = {m.name for m in migrations}
    unknown = sorted(set(applied) - known)
    if unknown:
        raise MigrationError(
            f"the database has migrations this version of memosys does not know: {unknown}; "
            "upgrade memosys to open it",
            detail={"unknown": unknown},
        )
    for m in migrations:
        recorded = applied.get(m.name)
        if recorded is not None and recorded != m.checksum:
            raise MigrationError(
                f"migration {m.name} was changed after it was applied "
                f"(recorded sha256 {recorded[:12]}..., file {m.checksum[:12]}...); "
                "restore the original file: applied migrations must never be edited, "
                "add a new numbered file instead",
                detail={"file": m.name},
            )
    return [m for m in migrations if m.name not in applied]


def run_migrations(target: MigrationTarget, migrations: Sequence[Migration]) -> list[str]:
    """Verify the history and apply pending migrations in order; returns the names applied.

    The history is checked without a lock first, so opening an up-to-date
    database never waits for a writer; pending work is re-checked under the lock.
    """
    if not _pending(target.applied(), migrations):
        return []
    with target.locked():
        todo = _pending(target.applied(), migrations)
        for migration in todo:
            target.apply(migration)
    return [m.name for m in todo]
