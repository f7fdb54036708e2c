"""An in-memory mirror of the ``items_fts`` index, for BM25 without a B-tree lookup per match.

FTS5's ``bm25()`` reads each matching row's length from a B-tree, which is
most of a text search's cost on a large store. The mirror holds the same
index in numpy arrays (:mod:`.text_postings`) and scores exactly what FTS5
scores. Its tokens are FTS5's: the load reads them from ``items_fts_vocab``
(an ``fts5vocab`` table over the index), and changed rows and query terms
are tokenized by a private FTS5 table with the same tokenizer
(:mod:`.fts_stats`). A query term that is not exactly one token there (the
query splitter and ``unicode61`` disagree) is left to FTS5.

The first text search loads the mirror: inline up to ``inline_rows`` rows,
else in a background thread while searches use FTS5 (same results). After
that, every change to the index (by this process or another) is found in the
``text_changes`` log: before a search the mirror reads the rows changed after
the last entry it applied and replaces their postings. So that a search
seldom waits for that, the first :data:`FOLLOWS_PER_SEARCH` commits of this
process after a search are taken in at once, each on its own, by a
background thread (:mod:`.follower`). Later ones wait for the next search,
which takes them in together: taking in a write on its own costs about 3 ms
for 20 rows at 100k memories, and doing it for every write made the
server's adds 7-10% slower when searches were few. Searches and writes
taking turns (a chat: search, answer, store the turn) are all followed.
``PRAGMA data_version`` (and the store's own commit count) tells cheaply
whether anything was committed since a connection last looked. A mirror that
the pruned log no longer reaches loads again, and so does one further behind
than :data:`MAX_BACKLOG` entries (a bulk import): catching up holds the lock
that other searches wait for, a load in the background does not.

Searches run on many threads: a lock guards catching up, and each search
scores an immutable snapshot, outside the lock. Inside a write transaction
(uncommitted changes) searches use FTS5.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import Counter, defaultdict

import numpy as np

from memosys.core.errors import MemosysError
from memosys.stores.sqlite.change_log import prune_log
from memosys.stores.sqlite.connection import Database
from memosys.stores.sqlite.follower import Follower
from memosys.stores.sqlite.fts_stats import live_totals, token_lists
from memosys.stores.sqlite.text_postings import (
    Counts,
    Posting,
    RowIds,
    TermPostings,
    TextIndex,
    extended,
)

_log = logging.getLogger(__name__)

PRUNE_KEEP = 100_000  # log entries kept; a process further behind loads its mirror again
FOLLOWS_PER_SEARCH = 4  # commits after a search taken in by the background thread
MAX_BACKLOG = 2_000  # log entries applied at most (about 35 ms); further behind, load again
TOKEN_CACHE = 65_536  # query terms whose token is remembered at most
_NOT_ONE_TOKEN = ""  # cached for a term that is no token, or several


class TextMirror:
    """The mirror of one database's ``items_fts`` (see the module)."""

    def __init__(self, db: Database, inline_rows: int) -> None:
        self._db = db
        self.inline_rows = inline_rows
        self._follows = 0  # commits the follower takes in before the next search
        self._follower = Follower("memosys-bm25-follow", self._follow)
        db.on_commit(self._committed)
        self._lock = threading.Lock()  # guards the fields below
        self._index: TextIndex | None = None
        self._row_tokens: _RowTokens | None = None
        self._seen: dict[int, tuple[int, int]] = {}  # by id() of the (long-lived) connection
        self._loader: threading.Thread | None = None
        self._failed = False
        self._drops = 0  # a load started before a drop is not installed
        self._token_of: dict[str, str] = {}

    def postings(self, conn: sqlite3.Connection, terms: list[str]) -> TermPostings | None:
        """The terms' postings, up to date with what ``conn`` sees; None when FTS5 must answer
        (not loaded yet, inside a transaction, or a term that is not one token)."""
        tokens = self._tokens(terms)
        index = self.current(conn) if tokens is not None else None
        return None if index is None or tokens is None else index.lookup(tokens)

    def current(self, conn: sqlite3.Connection) -> TextIndex | None:
        """The up-to-date snapshot, or None while it loads (or inside a transaction)."""
        if conn.in_transaction:
            return None
        self._follows = FOLLOWS_PER_SEARCH
        return self._up_to_date(conn, load=True)

    def catch_up(self, conn: sqlite3.Connection) -> None:
        """Apply what ``conn`` sees of the log now, if the mirror is loaded."""
        self._up_to_date(conn, load=False)

    def wait_followed(self, timeout: float | None = None) -> bool:
        """Wait for the background catch-up, if one is due or running; False on timeout."""
        return self._follower.wait_idle(timeout)

    def close(self) -> None:
        """Stop following commits (before the database closes)."""
        self._follower.close()

    def drop(self) -> None:
        """Forget the loaded index (after a forget: no token of a removed text stays in
        memory); the next search loads it again."""
        with self._lock:
            self._index = self._row_tokens = None
            self._seen.clear()
            self._drops += 1
        self._token_of = {}

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Wait for a background load; True when the mirror is loaded."""
        loader = self._loader
        if loader is not None:
            loader.join(timeout)
        return self._index is not None

    def nbytes(self) -> int:
        """Bytes of the loaded arrays (0 before the load)."""
        with self._lock:
            index, row_tokens = self._index, self._row_tokens
        if index is None or row_tokens is None:
            return 0
        return index.nbytes() + row_tokens.nbytes()

    def _up_to_date(self, conn: sqlite3.Connection, load: bool) -> TextIndex | None:
        """The snapshot, caught up with what ``conn`` sees; ``load``: start loading it if
        it is not loaded."""
        key = (int(conn.execute("PRAGMA data_version").fetchone()[0]), self._db.commits)
        with self._lock:
            if self._index is not None and self._seen.get(id(conn)) == key:
                return self._index
            if self._index is None:
                if not load:
                    return None
                self._start_load(conn)
            if self._index is not None and self._catch_up(conn):
                self._seen[id(conn)] = key
            return self._index

    def _committed(self) -> None:
        """After each commit of this process: catch up in the background, within the
        follows left since the last search."""
        if self._follows > 0 and self._index is not None:
            self._follows -= 1
            self._follower.nudge()

    def _follow(self) -> None:
        with self._db.read() as conn:
            self.catch_up(conn)

    def _tokens(self, terms: list[str]) -> list[str] | None:
        """Each term's one token (FTS5 tokenizes the quoted term to it), or None."""
        known = {t: token for t in terms if (token := self._token_of.get(t)) is not None}
        missing = [t for t in terms if t not in known]
        if missing:
            found, _ = token_lists([], missing)
            if len(self._token_of) + len(missing) > TOKEN_CACHE:
                self._token_of = {}
            for term in missing:
                tokens = found[term]
                known[term] = tokens[0] if len(tokens) == 1 else _NOT_ONE_TOKEN
                self._token_of[term] = known[term]
        tokens = [known[t] for t in terms]
        return None if _NOT_ONE_TOKEN in tokens else tokens

    def _start_load(self, conn: sqlite3.Connection) -> None:
        if self._failed or self._loader is not None:
            return
        if live_totals(conn)[0] > self.inline_rows:
            self._loader = threading.Thread(
                target=self._load_in_background, name="memosys-bm25-mirror", daemon=True
            )
            self._loader.start()
            return
        conn.execute("BEGIN")
        try:
            self._index, self._row_tokens = _load(conn)
        finally:
            conn.execute("COMMIT")
        self._seen.clear()

    def _load_in_background(self) -> None:
        drops = self._drops
        try:
            with self._db.read() as conn:
                conn.execute("BEGIN")
                try:
                    loaded = _load(conn)
                finally:
                    conn.execute("COMMIT")
        except MemosysError as exc:  # closed, or unreadable: FTS5 answers instead
            _log.warning("the in-memory BM25 index was not loaded: %s", exc)
            with self._lock:
                self._failed = True
                self._loader = None
            return
        with self._lock:
            if drops == self._drops:
                self._index, self._row_tokens = loaded
                self._seen.clear()
            self._loader = None

    def _catch_up(self, conn: sqlite3.Connection) -> bool:
        """Apply the log; False when it no longer reaches back to the mirror (load again)."""
        index, row_tokens = self._index, self._row_tokens
        assert index is not None and row_tokens is not None
        conn.execute("BEGIN")  # one snapshot for the log, the texts and the totals
        try:
            low, high = conn.execute(
                "SELECT (SELECT min(seq) FROM text_changes), (SELECT max(seq) FROM text_changes)"
            ).fetchone()
            last = high or 0
            if last == index.seq:
                return True
            # pruned past us, the file replaced, or more changes than a load: load again
            reaches = low is not None and low <= index.seq + 1 and last > index.seq
            reaches = reaches and last - index.seq <= MAX_BACKLOG
            if reaches:
                changes = conn.execute(
                    "SELECT c.item_rowid, i.search_text, i.cube_id FROM (SELECT DISTINCT "
                    "item_rowid FROM text_changes WHERE seq > ? AND seq <= ?) c "
                    "LEFT JOIN items i ON i.rowid = c.item_rowid",
                    (index.seq, last),
                ).fetchall()
                rows, tokens = live_totals(conn)
        finally:
            conn.execute("COMMIT")
        if not reaches:
            self._index = self._row_tokens = None
            self._start_load(conn)
            return False
        self._index = _applied(index, row_tokens, changes, rows, tokens, last)
        return True


class _RowTokens:
    """The distinct tokens of each row, to take a changed row out of its old postings."""

    def __init__(self, vocabulary: list[str], token_ids: Counts, starts: RowIds) -> None:
        self._vocabulary = vocabulary
        self._token_ids = token_ids  # by rowid: token_ids[starts[r]:starts[r + 1]]
        self._starts = starts
        self._changed: dict[int, tuple[str, ...]] = {}

    def get(self, rowid: int) -> tuple[str, ...]:
        if rowid in self._changed:
            return self._changed[rowid]
        if rowid + 1 >= len(self._starts):
            return ()
        ids = self._token_ids[self._starts[rowid] : self._starts[rowid + 1]]
        return tuple(self._vocabulary[i] for i in ids.tolist())

    def set(self, rowid: int, tokens: tuple[str, ...]) -> None:
        self._changed[rowid] = tokens

    def nbytes(self) -> int:
        """Bytes of the loaded arrays (the changed rows' tuples left out)."""
        return self._token_ids.nbytes + self._starts.nbytes


def _load(conn: sqlite3.Connection) -> tuple[TextIndex, _RowTokens]:
    """The whole index, read from FTS5's own tokens (inside the caller's transaction)."""
    seq = int(conn.execute("SELECT COALESCE(max(seq), 0) FROM text_changes").fetchone()[0])
    rows, tokens = live_totals(conn)
    base: dict[str, Posting] = {}
    for token, docs in conn.execute(
        "SELECT term, group_concat(doc) FROM items_fts_vocab GROUP BY term"
    ):
        instances = np.sort(np.array(docs.split(","), dtype=np.int64))
        firsts = np.flatnonzero(np.concatenate(([True], instances[1:] != instances[:-1])))
        counts = np.diff(np.append(firsts, len(instances))).astype(np.int32)
        base[token] = (instances[firsts], counts)
    vocabulary = list(base)
    all_rowids = np.concatenate([r for r, _ in base.values()] or [np.empty(0, np.int64)])
    all_counts = np.concatenate([c for _, c in base.values()] or [np.empty(0, np.int32)])
    token_ids = np.repeat(np.arange(len(vocabulary), dtype=np.int32),
                          [len(r) for r, _ in base.values()])
    size = int(all_rowids.max()) + 1 if len(all_rowids) else 1
    cube_rows = conn.execute("SELECT rowid, cube_id FROM items").fetchall()
    size = max(size, max((rowid for rowid, _ in cube_rows), default=0) + 1)
    lengths = np.bincount(all_rowids, weights=all_counts, minlength=size).astype(np.int32)
    cube_numbers: dict[str, int] = {}
    cubes = np.full(size, -1, dtype=np.int32)
    for rowid, cube_id in cube_rows:
        cubes[rowid] = cube_numbers.setdefault(cube_id, len(cube_numbers))
    by_row = np.argsort(all_rowids, kind="stable")
    starts = np.concatenate(([0], np.cumsum(np.bincount(all_rowids, minlength=size))))
    index = TextIndex(base, {}, lengths, rows, tokens, seq, cubes, cube_numbers)
    return index, _RowTokens(vocabulary, token_ids[by_row], starts.astype(np.int64))


MERGE_AT = 4_096  # changed tokens above which (and 1/16 of the loaded ones) they fold in


def _applied(
    index: TextIndex,
    row_tokens: _RowTokens,
    changes: list[tuple[int, str | None, str | None]],
    rows: int,
    tokens: int,
    seq: int,
) -> TextIndex:
    """The next snapshot: these rows' postings and cube replaced by their current text's
    and cube's (None: deleted), with FTS5's totals after the change."""
    current = [(rowid, text) for rowid, text, _ in changes if text is not None]
    _, counted = token_lists([text for _, text in current], [])
    now = {rowid: counts for (rowid, _), counts in zip(current, counted, strict=True)}
    size = max(len(index.lengths), max(rowid for rowid, _, _ in changes) + 1)
    # new rows only: grow in place; a change to rows that older snapshots read: copy
    grow = extended if all(rowid >= len(index.lengths) for rowid, _, _ in changes) else _copied
    lengths, cubes = grow(index.lengths, size, 0), grow(index.cubes, size, -1)
    cube_numbers = dict(index.cube_numbers)
    for rowid, _, cube_id in changes:
        number = -1 if cube_id is None else cube_numbers.setdefault(cube_id, len(cube_numbers))
        cubes[rowid] = number
    removed: dict[str, list[int]] = defaultdict(list)
    added: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for rowid, _, _ in changes:
        for token in row_tokens.get(rowid):
            removed[token].append(rowid)
        counts = now.get(rowid, Counter())
        for token, count in counts.items():
            added[token].append((rowid, count))
        row_tokens.set(rowid, tuple(counts))
        lengths[rowid] = sum(counts.values())
    changed = dict(index.changed)
    for token in removed.keys() | added.keys():
        changed[token] = _replaced(index.posting(token), removed.get(token, []),
                                   added.get(token, []))
    base = index.base
    if len(changed) > max(MERGE_AT, len(base) // 16):
        base = {t: p for t, p in {**base, **changed}.items() if len(p[0])}
        changed = {}
    return TextIndex(base, changed, lengths, rows, tokens, seq, cubes, cube_numbers)


def _copied(array: Counts, size: int, fill: int) -> Counts:
    """A copy of ``array`` grown to ``size`` entries, the new ones ``fill``."""
    copy = np.full(size, fill, dtype=array.dtype)
    copy[: len(array)] = array
    return copy


def _replaced(posting: Posting, removed: list[int], added: list[tuple[int, int]]) -> Posting:
    """A posting without the ``removed`` rows and with the ``added`` (rowid, count) pairs, in
    one copy of its arrays (no sort: the arrays stay sorted); rows added after its last one
    (new rows) are appended without a copy, mostly (:func:`.text_postings.extended`)."""
    rowids, counts = posting
    pairs = sorted(added)
    if not removed and pairs and (len(rowids) == 0 or pairs[0][0] > rowids[-1]):
        end = len(rowids) + len(pairs)
        rowids, counts = extended(rowids, end, 0), extended(counts, end, 0)
        rowids[end - len(pairs) :] = [r for r, _ in pairs]
        counts[end - len(pairs) :] = [c for _, c in pairs]
        return rowids, counts
    if removed:
        gone = np.array(sorted(removed), dtype=np.int64)
        at = np.minimum(np.searchsorted(rowids, gone), max(len(rowids) - 1, 0))
        at = at[rowids[at] == gone] if len(rowids) else at[:0]
        rowids, counts = np.delete(rowids, at), np.delete(counts, at)
    if added:
        new = np.array([r for r, _ in pairs], dtype=np.int64)
        at = np.searchsorted(rowids, new)
        rowids = np.insert(rowids, at, new)
        counts = np.insert(counts, at, np.array([c for _, c in pairs], dtype=np.int32))
    return rowids, counts


def prune_text_changes(conn: sqlite3.Connection) -> None:
    """Trim the log to its last :data:`PRUNE_KEEP` entries once it is twice that long."""
    prune_log(conn, "text_changes", PRUNE_KEEP)
