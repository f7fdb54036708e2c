"""The records of identity, sharing and audit: who acts, what they hold, what happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from memosys.core.errors import InvalidInputError

Access = Literal["read", "write"]


class Principal(BaseModel):
    """Who a request acts as: the user behind an API key."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    admin: bool
    key_id: str


class IssuedKey(BaseModel):
    """A new API key with its plaintext, which is shown this once and never stored."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    key_id: str
    api_key: str
    created_at: datetime


class ApiKeyInfo(BaseModel):
    """What is known about an API key without its secret."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    user_id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class Share(BaseModel):
    """A grant of read or read-write access to a cube for a user who does not own it."""

    model_config = ConfigDict(frozen=True)

    cube_id: str
    user_id: str
    access: Access
    granted_by: str
    granted_at: datetime


class AuditRecord(BaseModel):
    """One entry of the hash-chained audit log."""

    model_config = ConfigDict(frozen=True)

    seq: int
    at: datetime
    actor: str
    action: str
    cube_id: str | None = None
    item_id: str | None = None
    request_id: str | None = None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditAnchor(BaseModel):
    """A record's sequence number and hash, kept outside the database to pin the chain."""

    model_config = ConfigDict(frozen=True)

    seq: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> AuditAnchor:
        """``"SEQ:HASH"`` as printed by ``memosys audit head``; InvalidInputError otherwise."""
        seq, _, digest = text.partition(":")
        if not seq.isdigit() or len(digest) != 64 or not _is_hex(digest):
            raise InvalidInputError(
                f"an audit anchor is SEQ:HASH as printed by `memosys audit head`, got {text!r}"
            )
        return cls(seq=int(seq), hash=digest.lower())

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


class AuditVerification(BaseModel):
    """The result of checking the audit chain: intact, or where it first breaks.

    ``records`` (how many were checked: the size of the whole log) is None for
    a user who is not an administrator.
    """

    model_config = ConfigDict(frozen=True)

    ok: bool
    records: int | None
    first_bad_seq: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class StoredKey:
    """An API key row: the public info plus the salt and hash that check a secret."""

    info: ApiKeyInfo
    salt: str
    key_hash: str


#: Every action the audit log records (an audit query by action names one of them).
AUDIT_ACTIONS = (
    "memory.add", "memory.update", "memory.delete", "memory.forget", "memory.state",
    "cube.create", "cube.share", "cube.unshare", "cube.reembed",
    "snapshot.create", "snapshot.delete", "snapshot.restore",
    "user.create", "user.admin", "user.forget", "key.create", "key.revoke",
    "adapter.distill", "adapter.rebuild", "adapter.drop", "adapter.offload",
)


@dataclass(frozen=True)
class AuditEntry:
    """An audit record before it is sealed into the chain (no seq, no hashes yet)."""

    at: datetime
    actor: str
    action: str
    cube_id: str | None = None
    item_id: str | None = None
    request_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditQuery:
    """Which audit records to return, newest first.

    ``visible_to`` limits the records to those of the user's cubes, those
    the user did, and those done for it (``detail["user"]``) outside a cube
    or in a cube shared with it; ``None`` means every record (an administrator).
    ``before_seq`` pages back through the log: only records with a lower
    sequence number (pass the last ``seq`` of the previous page).
    """

    visible_to: str | None = None
    cube_id: str | None = None
    item_id: str | None = None
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None
    before_seq: int | None = None
    limit: int = 100
