"""The hash chain of the audit log: sealing records and checking the chain.

Each record's hash is ``sha256(prev_hash + canonical JSON of the record)``,
where the canonical JSON holds every field but the two hashes, with sorted
keys and no spaces; the first record's ``prev_hash`` is :data:`GENESIS`.
Editing, removing or reordering any record breaks the chain at that record.
Removing records from the end is caught by comparing the last record with
the highest sequence number the store ever handed out.

Someone who can write the database file can still rewrite every record from
some point on with fresh hashes. Against that, keep an :class:`AuditAnchor`
(``memosys audit head``) somewhere else and pass it to the check: a record
whose hash differs from its anchor breaks the chain there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

from memosys.core.clock import to_utc
from memosys.governance.models import AuditAnchor, AuditEntry, AuditRecord, AuditVerification

GENESIS = "0" * 64
# one encoder for every record (json.dumps builds one per call with these options)
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical(seq: int, entry: AuditEntry | AuditRecord) -> str:
    body = {
        "seq": seq,
        "at": to_utc(entry.at).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "cube_id": entry.cube_id,
        "item_id": entry.item_id,
        "request_id": entry.request_id,
        "detail": entry.detail,
    }
    return _CANONICAL_JSON.encode(body)


def chain_hash(prev_hash: str, seq: int, entry: AuditEntry | AuditRecord) -> str:
    """The hash of record ``seq`` holding ``entry``, chained to ``prev_hash``."""
    return hashlib.sha256((prev_hash + _canonical(seq, entry)).encode("utf-8")).hexdigest()


def seal(entry: AuditEntry, seq: int, prev_hash: str) -> AuditRecord:
    """The record ``seq`` of the chain: ``entry`` with its link and hash."""
    return AuditRecord(
        seq=seq,
        at=to_utc(entry.at),
        actor=entry.actor,
        action=entry.action,
        cube_id=entry.cube_id,
        item_id=entry.item_id,
        request_id=entry.request_id,
        detail=entry.detail,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, seq, entry),
    )


class ChainChecker:
    """Checks records fed in ascending order; remembers the first break."""

    def __init__(self, anchors: Sequence[AuditAnchor] = ()) -> None:
        self.records = 0
        self._anchors = {a.seq: a.hash for a in anchors}
        self.first_bad_seq: int | None = None
        self.reason: str | None = None
        self._prev_hash = GENESIS
        self._expected_seq = 1

    @property
    def ok(self) -> bool:
        """No break found so far."""
        return self.first_bad_seq is None

    def feed(self, records: Iterable[AuditRecord]) -> None:
        """Check the next records of the chain (stops at the first break)."""
        for record in records:
            if not self.ok:
                return
            self.records += 1
            self._check(record)

    def finish(self, last_seq_issued: int) -> AuditVerification:
        """The verdict, given the highest sequence number the store ever handed out."""
        if self.ok and last_seq_issued >= self._expected_seq:
            self._break(
                self._expected_seq,
                f"records {self._expected_seq}..{last_seq_issued} were removed from the end",
            )
        beyond = sorted(seq for seq in self._anchors if seq >= self._expected_seq)
        if self.ok and beyond:
            self._break(beyond[0], f"anchored record {beyond[0]} is missing")
        return AuditVerification(
            ok=self.ok, records=self.records, first_bad_seq=self.first_bad_seq, reason=self.reason
        )

    def _check(self, record: AuditRecord) -> None:
        if record.seq != self._expected_seq:
            self._break(self._expected_seq, f"record {self._expected_seq} is missing")
        elif record.prev_hash != self._prev_hash:
            self._break(record.seq, f"record {record.seq} does not link to the record before it")
        elif record.hash != chain_hash(record.prev_hash, record.seq, record):
            self._break(record.seq, f"record {record.seq} was changed after it was written")
        elif self._anchors.get(record.seq, record.hash) != record.hash:
            self._break(
                record.seq, f"record {record.seq} differs from its anchor: the log was rewritten"
            )
        else:
            self._prev_hash = record.hash
            self._expected_seq += 1

    def _break(self, seq: int, reason: str) -> None:
        self.first_bad_seq = seq
        self.reason = reason
