"""What governance needs from a storage backend: keys, admins, shares and the audit log.

Kept apart from :class:`~memosys.stores.base.Store` so the item store stays
small; a backend offers it as its ``governance`` attribute. Every method
that changes keys, admins or shares takes the :class:`AuditEntry` that
records the change and writes both in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable

from memosys.core.errors import ConfigurationError
from memosys.governance.models import AuditEntry, AuditQuery, AuditRecord, Share, StoredKey
from memosys.governance.ratelimit import ClientFailures


@runtime_checkable
class GovernanceStore(Protocol):
    """Persistence of API keys, administrators, cube shares and the audit chain."""

    # keys and administrators
    def insert_key(self, key: StoredKey, entry: AuditEntry, *, first: bool = False) -> bool:
        """Store a key; with ``first``, only if its user has no key yet (else False)."""
        ...

    def get_key(self, key_id: str) -> StoredKey | None: ...
    def keys_with_prefix(self, prefix: str) -> list[StoredKey]: ...
    def list_keys(self, user_id: str) -> list[StoredKey]: ...
    def revoke_key(self, key_id: str, at: datetime, entry: AuditEntry) -> bool:
        """Mark an unrevoked key revoked; False when there was none."""
        ...

    def touch_key(self, key_id: str, at: datetime) -> None:
        """Record that the key was used at ``at``."""
        ...

    def grant_admin(self, user_id: str, at: datetime, entry: AuditEntry) -> None: ...
    def is_admin(self, user_id: str) -> bool: ...
    def has_active_admin_key(self) -> bool:
        """Whether some administrator holds an unrevoked key."""
        ...

    def purge_user(self, user_id: str, entry: AuditEntry) -> int:
        """Delete the user's keys, admin right and the shares granted to it; rows removed."""
        ...

    # shares
    def put_share(self, share: Share, entry: AuditEntry) -> None:
        """Insert the share, or change the access of an existing one."""
        ...

    def delete_share(self, cube_id: str, user_id: str, entry: AuditEntry) -> bool:
        """Remove a share; False when there was none (and nothing is recorded)."""
        ...

    def get_share(self, cube_id: str, user_id: str) -> Share | None: ...
    def shares_of_cube(self, cube_id: str) -> list[Share]: ...
    def shares_of_user(self, user_id: str) -> list[Share]:
        """The shares granted to a user, oldest first."""
        ...

    # failed authentication attempts (see memosys.governance.ratelimit.FailureLog)
    def has_failures(self, client: str, since: datetime) -> bool:
        """Whether ``client`` failed after ``since`` (a read, without the write lock)."""
        ...

    def failures_locked(self, client: str) -> AbstractContextManager[ClientFailures]:
        """The failures of ``client`` in one write transaction (serialised across processes)."""
        ...

    # audit
    def append_audit(self, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
        """Seal and append entries at the end of the chain, serialised across processes."""
        ...

    def audit_records(self, query: AuditQuery) -> list[AuditRecord]:
        """Records matching the query, newest first."""
        ...

    def audit_chain(self, after_seq: int, limit: int) -> list[AuditRecord]:
        """Up to ``limit`` records with ``seq > after_seq``, in ascending order."""
        ...

    def last_audit_seq(self) -> int:
        """The highest sequence number ever handed out (0 for an empty log)."""
        ...


def governance_store(store: object) -> GovernanceStore:
    """The governance side of an item store; ConfigurationError if the backend has none."""
    provided = getattr(store, "governance", None)
    if not isinstance(provided, GovernanceStore):
        raise ConfigurationError(
            f"the {type(store).__name__} backend does not support users, keys, shares and "
            "audit; use the SQLite store (a data directory) instead"
        )
    return provided
