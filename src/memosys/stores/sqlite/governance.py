"""The SQLite side of governance: API keys, administrators, cube shares and the
audit log (failed sign-in attempts and the keys' last use are in a file of
their own, see :mod:`memosys.stores.sqlite.sign_ins`).

Audit appends run inside ``BEGIN IMMEDIATE`` transactions, so every process
writing to the same file takes the database write lock before it reads the
end of the chain: the chain stays one sequence however many processes
append. Changes to keys and shares are written in the same transaction as
the audit record that describes them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from memosys.governance.audit import GENESIS, seal
from memosys.governance.models import (
    ApiKeyInfo,
    AuditEntry,
    AuditQuery,
    AuditRecord,
    Share,
    StoredKey,
)
from memosys.stores.sqlite.codec import MAX_INTEGER, micros
from memosys.stores.sqlite.connection import Database
from memosys.stores.sqlite.sign_ins import SQLiteClientFailures, SQLiteSignIns

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KEY_COLUMNS = "key_id, user_id, name, prefix, salt, key_hash, created_at, last_used_at, revoked_at"
_SHARE_COLUMNS = "cube_id, user_id, access, granted_by, granted_at"
_MAX_CUBE_BRANCHES = 200  # SQLite allows 500 terms in a compound SELECT
_AUDIT_COLUMNS = "seq, at, actor, action, cube_id, item_id, request_id, detail, prev_hash, hash"


def _time(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def _when(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _key(row: Sequence[Any], used_at: datetime | None) -> StoredKey:
    """A key from its row; ``used_at`` is its last use in the auth database (the
    row's own column holds the uses that earlier versions recorded)."""
    key_id, user_id, name, prefix, salt, key_hash, created, used, revoked = row
    last_used = max((t for t in (_time(used), used_at) if t is not None), default=None)
    info = ApiKeyInfo(
        key_id=key_id,
        user_id=user_id,
        name=name,
        prefix=prefix,
        created_at=_when(created),
        last_used_at=last_used,
        revoked_at=_time(revoked),
    )
    return StoredKey(info=info, salt=salt, key_hash=key_hash)


def _share(row: Sequence[Any]) -> Share:
    cube_id, user_id, access, granted_by, granted_at = row
    return Share(
        cube_id=cube_id,
        user_id=user_id,
        access=access,
        granted_by=granted_by,
        granted_at=_when(granted_at),
    )


def _record(row: Sequence[Any]) -> AuditRecord:
    seq, at, actor, action, cube_id, item_id, request_id, detail, prev_hash, hash_ = row
    try:
        parsed = json.loads(detail)
    except (TypeError, ValueError):
        parsed = None
    # a value that is not what the log writes was written by hand: keep the record
    # readable, with the value shown in its detail, so that its hash fails
    shown = parsed if isinstance(parsed, dict) else {"unreadable": _text(detail)}
    try:
        when = _when(at)
    except (TypeError, OverflowError):
        when, shown = _EPOCH, {**shown, "unreadable_at": _text(at)}
    # rows are ours and already typed: skip validation (verify reads the whole log)
    return AuditRecord.model_construct(
        seq=seq,
        at=when,
        actor=_text(actor),
        action=_text(action),
        cube_id=_text(cube_id),
        item_id=_text(item_id),
        request_id=_text(request_id),
        detail=shown,
        prev_hash=_text(prev_hash),
        hash=_text(hash_),
    )


def _text(value: Any) -> Any:
    """A text column's value; one of another type (a blob written by hand) as its repr."""
    return value if value is None or isinstance(value, str) else repr(value)


def _append(conn: sqlite3.Connection, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
    """Seal ``entries`` onto the end of the chain (the caller holds the write lock)."""
    if not entries:
        return []
    last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    last_seq, prev_hash = (int(last[0]), str(last[1])) if last else (0, GENESIS)
    # never reuse a number, even one whose record was removed by hand
    seq = max(last_seq, _issued(conn))
    sealed: list[AuditRecord] = []
    for entry in entries:
        seq += 1
        record = seal(entry, seq, prev_hash)
        sealed.append(record)
        prev_hash = record.hash
    conn.executemany(
        f"INSERT INTO audit_log ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (r.seq, micros(r.at), r.actor, r.action, r.cube_id, r.item_id, r.request_id,
             json.dumps(r.detail, sort_keys=True, ensure_ascii=False), r.prev_hash, r.hash)
            for r in sealed
        ],
    )
    return sealed


def _issued(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").fetchone()
    return 0 if row is None else int(row[0])


def _filters(query: AuditQuery) -> tuple[str, list[Any]]:
    """The WHERE clause of a query's own filters (not its visibility)."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("cube_id", query.cube_id),
        ("item_id", query.item_id),
        ("action", query.action),
        ("actor", query.actor),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.since is not None:
        clauses.append("at >= ?")
        params.append(micros(query.since))
    if query.before_seq is not None:
        clauses.append("seq < ?")
        params.append(min(query.before_seq, MAX_INTEGER))  # a seq is an SQLite integer
    return " AND ".join(clauses) or "1", params


def _visibility(conn: sqlite3.Connection, user_id: str) -> list[tuple[str, list[Any]]]:
    """The conditions under which a record is visible to a user who is not an administrator:

    it is about one of the user's cubes, the user did it, or it was done for
    the user (``detail.user``) outside any cube or in a cube shared with it.
    One condition per cube keeps every one on the (cube_id, seq) index.
    """
    owned = [r[0] for r in conn.execute("SELECT id FROM cubes WHERE owner = ?", (user_id,))]
    shared = [
        r[0] for r in conn.execute("SELECT cube_id FROM cube_shares WHERE user_id = ?", (user_id,))
    ]
    if len(owned) + len(shared) > _MAX_CUBE_BRANCHES:  # one scan instead of many branches
        ids = json.dumps([*owned, *shared])
        return [
            ("(cube_id IN (SELECT value FROM json_each(?)) AND (cube_id IN "
             "(SELECT value FROM json_each(?)) OR json_extract(detail, '$.user') = ?))",
             [ids, json.dumps(owned), user_id]),
            ("actor = ?", [user_id]),
            ("cube_id IS NULL AND json_extract(detail, '$.user') = ?", [user_id]),
        ]
    return [
        *(("cube_id = ?", [cube_id]) for cube_id in owned),
        *(("cube_id = ? AND json_extract(detail, '$.user') = ?", [c, user_id]) for c in shared),
        ("actor = ?", [user_id]),
        ("cube_id IS NULL AND json_extract(detail, '$.user') = ?", [user_id]),
    ]


class SQLiteGovernance:
    """A :class:`~memosys.governance.store.GovernanceStore` on a store's database."""

    def __init__(self, db: Database, sign_ins: SQLiteSignIns) -> None:
        self._db = db
        self._sign_ins = sign_ins

    # keys and administrators

    def insert_key(self, key: StoredKey, entry: AuditEntry, *, first: bool = False) -> bool:
        """Store a new key and its audit record; with ``first``, only for a user without keys."""
        info = key.info
        with self._db.write() as conn:
            if first and conn.execute(
                "SELECT 1 FROM api_keys WHERE user_id = ? LIMIT 1", (info.user_id,)
            ).fetchone():
                return False
            conn.execute(
                f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                (info.key_id, info.user_id, info.name, info.prefix, key.salt, key.key_hash,
                 micros(info.created_at)),
            )
            _append(conn, [entry])
        return True

    def get_key(self, key_id: str) -> StoredKey | None:
        """The key with this id, if any."""
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,)
            ).fetchone()
        return None if row is None else self._keys([row])[0]

    def keys_with_prefix(self, prefix: str) -> list[StoredKey]:
        """Keys whose non-secret prefix is ``prefix`` (almost always one)."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE prefix = ?", (prefix,)
            ).fetchall()
        return self._keys(rows)

    def list_keys(self, user_id: str) -> list[StoredKey]:
        """The keys of a user, oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE user_id = ? "
                "ORDER BY created_at, key_id",
                (user_id,),
            ).fetchall()
        return self._keys(rows)

    def _keys(self, rows: Sequence[Sequence[Any]]) -> list[StoredKey]:
        """Keys from their rows, with the last use the auth database recorded."""
        used = self._sign_ins.last_uses([row[0] for row in rows])
        return [_key(row, used.get(row[0])) for row in rows]

    def revoke_key(self, key_id: str, at: datetime, entry: AuditEntry) -> bool:
        """Revoke an unrevoked key and record it; False when there was none."""
        with self._db.write() as conn:
            changed = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (micros(at), key_id),
            ).rowcount
            if changed:
                _append(conn, [entry])
        return bool(changed)

    def touch_key(self, key_id: str, at: datetime) -> None:
        """Record that the key was used at ``at`` (in the auth database)."""
        self._sign_ins.record_use(key_id, at)

    def grant_admin(self, user_id: str, at: datetime, entry: AuditEntry) -> None:
        """Make a user an administrator and record it (no-op if already one)."""
        with self._db.write() as conn:
            added = conn.execute(
                "INSERT OR IGNORE INTO admins (user_id, granted_at) VALUES (?, ?)",
                (user_id, micros(at)),
            ).rowcount
            if added:
                _append(conn, [entry])

    def is_admin(self, user_id: str) -> bool:
        """Whether the user is an administrator."""
        with self._db.read() as conn:
            row = conn.execute("SELECT 1 FROM admins WHERE user_id = ?", (user_id,)).fetchone()
        return row is not None

    def has_active_admin_key(self) -> bool:
        """Whether some administrator holds an unrevoked key."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT 1 FROM api_keys k JOIN admins a ON a.user_id = k.user_id "
                "WHERE k.revoked_at IS NULL LIMIT 1"
            ).fetchone()
        return row is not None

    def purge_user(self, user_id: str, entry: AuditEntry) -> int:
        """Delete the user's keys, admin right and shares granted to it, and record it."""
        with self._db.write() as conn:
            removed = sum(
                conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,)).rowcount
                for table in ("api_keys", "admins", "cube_shares")
            )
            _append(conn, [replace(entry, detail={**entry.detail, "rows": removed})])
        return removed

    # shares

    def put_share(self, share: Share, entry: AuditEntry) -> None:
        """Insert the share (or change its access) and record it."""
        with self._db.write() as conn:
            conn.execute(
                f"INSERT INTO cube_shares ({_SHARE_COLUMNS}) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (cube_id, user_id) DO UPDATE SET access = excluded.access, "
                "granted_by = excluded.granted_by, granted_at = excluded.granted_at",
                (share.cube_id, share.user_id, share.access, share.granted_by,
                 micros(share.granted_at)),
            )
            _append(conn, [entry])

    def delete_share(self, cube_id: str, user_id: str, entry: AuditEntry) -> bool:
        """Remove a share and record it; False when there was none."""
        with self._db.write() as conn:
            removed = conn.execute(
                "DELETE FROM cube_shares WHERE cube_id = ? AND user_id = ?", (cube_id, user_id)
            ).rowcount
            if removed:
                _append(conn, [entry])
        return bool(removed)

    def get_share(self, cube_id: str, user_id: str) -> Share | None:
        """The share of a cube with a user, if any."""
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_SHARE_COLUMNS} FROM cube_shares WHERE cube_id = ? AND user_id = ?",
                (cube_id, user_id),
            ).fetchone()
        return None if row is None else _share(row)

    def shares_of_cube(self, cube_id: str) -> list[Share]:
        """Who a cube is shared with, oldest grant first."""
        return self._shares("cube_id = ?", cube_id)

    def shares_of_user(self, user_id: str) -> list[Share]:
        """The shares granted to a user, oldest first."""
        return self._shares("user_id = ?", user_id)

    def _shares(self, where: str, value: str) -> list[Share]:
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_SHARE_COLUMNS} FROM cube_shares WHERE {where} "
                "ORDER BY granted_at, cube_id, user_id",
                (value,),
            ).fetchall()
        return [_share(row) for row in rows]

    # failed authentication attempts

    def has_failures(self, client: str, since: datetime) -> bool:
        """Whether ``client`` failed after ``since`` (a read of their database file)."""
        return self._sign_ins.has_failures(client, since)

    def failures_locked(self, client: str) -> AbstractContextManager[SQLiteClientFailures]:
        """The failures of ``client`` in one write transaction of their own database file."""
        return self._sign_ins.failures_locked(client)

    # audit

    def append_audit(self, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
        """Seal and append entries at the end of the chain."""
        if not entries:
            return []
        with self._db.write() as conn:
            return _append(conn, entries)

    def audit_records(self, query: AuditQuery) -> list[AuditRecord]:
        """Records matching the query, newest first.

        For a user's view, each way a record can be visible (one of the user's
        cubes, the user's own action, an action done for the user) is its own
        indexed query that stops after ``limit`` rows; their union is cut again.
        """
        where, params = _filters(query)
        select = f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE {where}"
        with self._db.read() as conn:
            if query.visible_to is None:
                sql, args = f"{select} ORDER BY seq DESC LIMIT ?", [*params, query.limit]
            else:
                branches = _visibility(conn, query.visible_to)
                if query.item_id is not None:  # the item index is the selective one: one query
                    branches = [(
                        " OR ".join(f"({condition})" for condition, _ in branches),
                        [value for _, values in branches for value in values],
                    )]
                parts, args = [], []
                for condition, values in branches:
                    parts.append(
                        f"SELECT * FROM ({select} AND ({condition}) ORDER BY seq DESC LIMIT ?)"
                    )
                    args += [*params, *values, query.limit]
                sql = (
                    f"SELECT * FROM ({' UNION '.join(parts)}) ORDER BY seq DESC LIMIT ?"
                )
                args.append(query.limit)
            rows = conn.execute(sql, args).fetchall()
        return [_record(row) for row in rows]

    def audit_chain(self, after_seq: int, limit: int) -> list[AuditRecord]:
        """Up to ``limit`` records after ``after_seq``, ascending."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [_record(row) for row in rows]

    def last_audit_seq(self) -> int:
        """The highest sequence number ever handed out (0 for an empty log)."""
        with self._db.read() as conn:
            return _issued(conn)
