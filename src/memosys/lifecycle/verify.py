"""``verify-forgotten``: look for anything left of forgotten memories, independently of the store.

The check opens the database with its own connection (it writes nothing) and looks
for each needle (item ids, user ids, texts, embeddings as raw float32 bytes and in
the half precision that saved HNSW indexes hold them in):

- in every column of every table, the FTS5 shadow tables included
  (``instr`` over the value as bytes);
- in the full-text index itself: FTS5's ``integrity-check`` against the
  content table, a MATCH of each term of each text that finds a row no
  longer in ``items``, and the raw bytes of the files for the index terms
  (porter stems) that no live memory has;
- in the raw bytes of every file under the data directory (the database,
  its ``-wal`` and ``-shm``, saved HNSW indexes, anything else).

The append-only audit log keeps ids (who did what, never the content) by
design: ids found there are reported as ``retained``, not as leftovers, and
so are the raw-byte hits of those ids in the database files (the audit rows
are made of those bytes). Content is never excused.
Short user ids can match unrelated bytes; the report names each place so a
person can judge.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from memosys.core.errors import InvalidInputError
from memosys.core.items import (
    ActivationInfo,
    LifecycleState,
    MemoryItem,
    MemoryKind,
    MemoryType,
    ParametricInfo,
    SourceType,
    TimeRef,
    Visibility,
)
from memosys.stores.sqlite.fts import fts_query, query_terms

RETAINED_TABLES = {"audit_log": "the append-only audit log keeps ids, never content"}
RETAINED_KINDS = frozenset({"id", "user"})
_CHUNK = 1 << 22
MIN_TERM_CHARS = 6  # shorter index terms are scanned in tables only: too many chance matches


@dataclass(frozen=True)
class Finding:
    """One place where a needle was found."""

    place: str  # "table items.data", "file memosys.db-wal", "fts items_fts"
    kind: str  # "id" | "user" | "text" | "vector" | "term" (an index term of a forgotten text)
    needle: str
    count: int = 1


@dataclass
class VerifyReport:
    """The result: ``clean`` when nothing but retained ids was found."""

    leftovers: list[Finding] = field(default_factory=list)
    retained: list[Finding] = field(default_factory=list)
    tables: int = 0
    files: int = 0

    @property
    def clean(self) -> bool:
        """Whether nothing of the forgotten memories is left."""
        return not self.leftovers


def verify_forgotten(
    data_dir: Path,
    database: Path,
    *,
    ids: Sequence[str] = (),
    user_ids: Sequence[str] = (),
    texts: Sequence[str] = (),
    vectors: Sequence[bytes] = (),
) -> VerifyReport:
    """Scan the database and every file under ``data_dir`` for the needles.

    ``vectors`` are raw float32 embeddings (a :class:`ForgetReceipt`'s), looked
    for in blob columns and in files, and in half precision in files (saved HNSW
    indexes hold them so).
    """
    needles = [_needle("id", n) for n in ids] + [_needle("user", n) for n in user_ids]
    needles += [_needle("text", n) for n in texts if n.strip()]
    needles += [_needle("vector", v) for v in vectors]
    needles += [_needle("vector", _halves(v)) for v in vectors if len(v) % 4 == 0]
    if not needles:
        raise InvalidInputError("give at least one --id, --user or --text to look for")
    if not database.exists():
        raise InvalidInputError(f"no memosys database at {database}; pass the data directory")
    report = VerifyReport()
    conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=rw", uri=True)
    try:
        _scan_tables(conn, needles, report)
        dead = _scan_fts(conn, [t for t in texts if t.strip()], report)
    finally:
        conn.close()
    needles += [_needle("term", stem) for stem in dead if not _in_the_item_format(stem)]
    explained = {f.needle for f in report.retained}
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        report.files += 1
        for kind, label, raw in needles:
            if _file_contains(path, raw):
                finding = Finding(f"file {path.relative_to(data_dir)}", kind, label)
                kept = kind in RETAINED_KINDS and label in explained
                (report.retained if kept else report.leftovers).append(finding)
    return report


def _halves(vector: bytes) -> bytes:
    """A float32 embedding's bytes in half precision, as a saved HNSW index holds it."""
    return np.frombuffer(vector, dtype="<f4").astype("<f2").tobytes()


def _needle(kind: str, value: str | bytes) -> tuple[str, str, bytes]:
    """``(kind, label for the report, bytes to look for)``."""
    if isinstance(value, bytes):
        return kind, f"{len(value)} bytes sha256:{hashlib.sha256(value).hexdigest()[:12]}", value
    return kind, _short(value), value.encode("utf-8")


def _scan_tables(
    conn: sqlite3.Connection, needles: list[tuple[str, str, bytes]], report: VerifyReport
) -> None:
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
        )
    ]
    for table in tables:
        report.tables += 1
        columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
        for column in columns:
            for kind, label, raw in needles:
                (count,) = conn.execute(
                    f'SELECT count(*) FROM "{table}" WHERE instr(CAST("{column}" AS BLOB), ?) > 0',
                    (raw,),
                ).fetchone()
                if not count:
                    continue
                finding = Finding(f"table {table}.{column}", kind, label, int(count))
                retained = table in RETAINED_TABLES and kind in RETAINED_KINDS
                (report.retained if retained else report.leftovers).append(finding)


def _scan_fts(conn: sqlite3.Connection, texts: list[str], report: VerifyReport) -> list[str]:
    """Check the text index; return the index terms of ``texts`` that no live row has.

    The index stores lower-cased porter stems ("quillonberri"), not the text,
    so a raw scan for the text alone could miss index pages that still hold
    them; the caller scans the files for these terms too.
    """
    try:
        conn.execute("INSERT INTO items_fts (items_fts, rank) VALUES ('integrity-check', 1)")
    except sqlite3.DatabaseError as exc:  # entries whose row is gone, or a damaged index
        report.leftovers.append(Finding("fts items_fts", "index", f"integrity-check: {exc}"))
    dead: list[str] = []
    for token, stem in _stems(texts):
        (live,) = conn.execute(
            "SELECT count(*) FROM items_fts f WHERE items_fts MATCH ? "
            "AND EXISTS (SELECT 1 FROM items i WHERE i.rowid = f.rowid)",
            (fts_query([token]),),
        ).fetchone()
        (orphans,) = conn.execute(
            "SELECT count(*) FROM items_fts f WHERE items_fts MATCH ? "
            "AND NOT EXISTS (SELECT 1 FROM items i WHERE i.rowid = f.rowid)",
            (fts_query([token]),),
        ).fetchone()
        if orphans:
            report.leftovers.append(Finding("fts items_fts", "term", stem, int(orphans)))
        if not live and len(stem) >= MIN_TERM_CHARS:
            dead.append(stem)
    return dead


def _in_the_item_format(stem: str) -> bool:
    """Whether ``stem`` is part of a field name or an enum value that every stored item's
    JSON holds ("keyword" of ``keywords``, "frozen"): bytes found in any row, not a trace."""
    return any(stem in word for word in _format_words())


@cache
def _format_words() -> frozenset[str]:
    models = (MemoryItem, TimeRef, ActivationInfo, ParametricInfo)
    words = {name for model in models for name in model.model_fields}
    enums = (MemoryType, MemoryKind, SourceType, LifecycleState, Visibility)
    words |= {member.value for enum in enums for member in enum}
    return frozenset(w.lower() for w in words)


def _stems(texts: list[str]) -> list[tuple[str, str]]:
    """``(token, index term)`` for the distinct search terms of ``texts``, via the same
    ``porter unicode61`` tokenizer as the live index."""
    tokens = list(dict.fromkeys(t for text in texts for t in query_terms(text)))
    if not tokens:
        return []
    mem = sqlite3.connect(":memory:")
    try:
        mem.execute("CREATE VIRTUAL TABLE t USING fts5 (body, tokenize = 'porter unicode61')")
        mem.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)", enumerate(tokens))
        mem.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, instance)")
        rows = mem.execute("SELECT doc, term FROM v ORDER BY doc").fetchall()
    finally:
        mem.close()
    return [(tokens[doc], str(term)) for doc, term in rows]


def _file_contains(path: Path, needle: bytes) -> bool:
    """Whether the file's bytes contain ``needle`` (read in overlapping chunks)."""
    overlap = len(needle) - 1
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if needle in tail + chunk:
                return True
            tail = chunk[-overlap:] if overlap else b""
    return False


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."
