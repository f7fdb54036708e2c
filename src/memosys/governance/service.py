"""The governance service: users' keys, authentication, cube shares and the audit log.

The :class:`~memosys.api.local.MemOS` facade validates arguments and
delegates here. Every change to keys, administrators and shares is written
together with its audit record; memory changes reach the log through
:meth:`Governance.record_change`, a journal of the facade's change events,
which runs inside the transaction of each change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from memosys.core.clock import Clock
from memosys.core.context import acting_user, current_request_id
from memosys.core.cube import MemCube
from memosys.core.errors import AuthenticationError, ConflictError, NotFoundError
from memosys.core.events import MemoryChange
from memosys.core.ids import new_id
from memosys.governance.audit import ChainChecker
from memosys.governance.keys import (
    hash_key,
    key_matches,
    key_prefix,
    looks_like_key,
    new_api_key,
    new_salt,
)
from memosys.governance.models import (
    AUDIT_ACTIONS,
    Access,
    ApiKeyInfo,
    AuditAnchor,
    AuditEntry,
    AuditQuery,
    AuditRecord,
    AuditVerification,
    IssuedKey,
    Principal,
    Share,
    StoredKey,
)
from memosys.governance.ratelimit import FailureLimiter
from memosys.governance.store import GovernanceStore
from memosys.settings import GovernanceSettings

ADMIN_USER = "admin"
VERIFY_BATCH = 5_000
_CHANGE_ACTIONS = {
    "added": "memory.add",
    "updated": "memory.update",
    "deleted": "memory.delete",
    "forgotten": "memory.forget",
    "state": "memory.state",
}


class Governance:
    """Identity, sharing and audit over a :class:`GovernanceStore`."""

    def __init__(self, store: GovernanceStore, clock: Clock, settings: GovernanceSettings) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._limiter = FailureLimiter(
            store, settings.auth_max_failures, settings.auth_window_s, clock
        )

    # -- keys and users ------------------------------------------------------

    def is_admin(self, user_id: str) -> bool:
        """Whether the user is an administrator."""
        return self._store.is_admin(user_id)

    def create_user(self, user_id: str, *, admin: bool) -> IssuedKey:
        """The first key of a user, made an administrator if ``admin``.

        ConflictError if the user already has keys.
        """
        issued = self._issue_key(user_id, "first key", first=True)
        if issued is None:
            raise ConflictError(
                f"user {user_id!r} already has API keys; create another with "
                "`memosys key create --user NAME`",
                detail={"user_id": user_id},
            )
        if admin:
            self._grant_admin(user_id)
        return issued

    def create_key(self, user_id: str, *, name: str = "") -> IssuedKey:
        """A new API key for the user; its plaintext is in the result only."""
        issued = self._issue_key(user_id, name, first=False)
        assert issued is not None  # only a first key can be refused
        return issued

    def _issue_key(self, user_id: str, name: str, *, first: bool) -> IssuedKey | None:
        api_key, salt, now = new_api_key(), new_salt(), self._clock.now()
        info = ApiKeyInfo(
            key_id=new_id(), user_id=user_id, name=name, prefix=key_prefix(api_key), created_at=now
        )
        stored = StoredKey(info=info, salt=salt, key_hash=hash_key(api_key, salt))
        entry = self._entry("key.create", user_id, detail={"key_id": info.key_id, "name": name})
        if not self._store.insert_key(stored, entry, first=first):
            return None
        return IssuedKey(user_id=user_id, key_id=info.key_id, api_key=api_key, created_at=now)

    def revoke_key(self, key_id: str, *, user_id: str) -> None:
        """Revoke a key of the user (an administrator may revoke any); NotFoundError otherwise."""
        stored = self._store.get_key(key_id)
        if stored is None or not (stored.info.user_id == user_id or self.is_admin(user_id)):
            raise NotFoundError(f"API key {key_id!r} not found", detail={"key_id": key_id})
        entry = self._entry(
            "key.revoke", stored.info.user_id, actor=user_id, detail={"key_id": key_id}
        )
        if not self._store.revoke_key(key_id, self._clock.now(), entry):
            raise NotFoundError(
                f"API key {key_id!r} is already revoked", detail={"key_id": key_id}
            )

    def list_keys(self, user_id: str) -> list[ApiKeyInfo]:
        """The user's keys without their secrets, oldest first."""
        return [stored.info for stored in self._store.list_keys(user_id)]

    def ensure_admin_key(self) -> IssuedKey | None:
        """A key for user ``admin`` when no administrator holds a usable key, else None."""
        if self._store.has_active_admin_key():
            return None
        if not self.is_admin(ADMIN_USER):
            self._grant_admin(ADMIN_USER)
        return self.create_key(ADMIN_USER, name="admin key")

    def authenticate(self, api_key: object, *, client: str) -> Principal:
        """The principal of a valid, unrevoked key.

        Raises AuthenticationError for a bad key and RateLimitedError once
        ``client`` has failed too often within the configured window (counted
        across every process on this store; concurrent attempts are counted
        one at a time, see :class:`FailureLimiter`).
        """
        stored = self._limiter.attempt(client, lambda: self._match(api_key))
        if stored is None:
            raise AuthenticationError(
                "invalid or revoked API key; send a key created by `memosys init`, "
                "`memosys user add` or `memosys key create` as 'Authorization: Bearer <key>'"
            )
        info, now = stored.info, self._clock.now()
        touch_every = timedelta(seconds=self._settings.key_touch_interval_s)
        if info.last_used_at is None or now - info.last_used_at >= touch_every:
            self._store.touch_key(info.key_id, now)
        admin = self.is_admin(info.user_id)
        return Principal(user_id=info.user_id, admin=admin, key_id=info.key_id)

    def forget_user(self, user_id: str) -> None:
        """Drop every key, admin right and share of a forgotten user (the audit keeps ids)."""
        self._store.purge_user(user_id, self._entry("user.forget", user_id))

    def _grant_admin(self, user_id: str) -> None:
        entry = self._entry("user.admin", user_id)
        self._store.grant_admin(user_id, self._clock.now(), entry)

    def _match(self, api_key: object) -> StoredKey | None:
        if not isinstance(api_key, str) or not looks_like_key(api_key):
            return None
        for stored in self._store.keys_with_prefix(key_prefix(api_key)):
            if stored.info.revoked_at is None and key_matches(api_key, stored):
                return stored
        return None

    # -- shares --------------------------------------------------------------

    def share(self, cube: MemCube, *, by: str, with_user: str, access: Access) -> Share:
        """Grant ``with_user`` access to ``cube`` (replacing an earlier grant), for user
        ``by``; the grant names who made it (:func:`acting_user`), as its audit record does."""
        share = Share(
            cube_id=cube.id, user_id=with_user, access=access, granted_by=acting_user(by),
            granted_at=self._clock.now(),
        )
        detail = {"with_user": with_user, "access": access}
        entry = self._entry("cube.share", cube.owner, actor=by, cube_id=cube.id, detail=detail)
        self._store.put_share(share, entry)
        return share

    def unshare(self, cube: MemCube, *, by: str, with_user: str) -> None:
        """Withdraw the share of ``cube`` with ``with_user``; NotFoundError if there is none."""
        detail = {"with_user": with_user}
        entry = self._entry("cube.unshare", cube.owner, actor=by, cube_id=cube.id, detail=detail)
        if not self._store.delete_share(cube.id, with_user, entry):
            raise NotFoundError(
                f"cube {cube.name!r} is not shared with {with_user!r}",
                detail={"cube": cube.id, "with_user": with_user},
            )

    def shares_of_cube(self, cube_id: str) -> list[Share]:
        """Who the cube is shared with."""
        return self._store.shares_of_cube(cube_id)

    def shares_of_user(self, user_id: str) -> list[Share]:
        """The shares granted to the user, oldest first."""
        return self._store.shares_of_user(user_id)

    def access(self, cube_id: str, user_id: str) -> Access | None:
        """The access a share gives the user to the cube, if any."""
        share = self._store.get_share(cube_id, user_id)
        return None if share is None else share.access

    # -- audit ---------------------------------------------------------------

    def record(
        self,
        action: str,
        user_id: str,
        *,
        cube_id: str | None = None,
        item_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditRecord:
        """Append one record of an action taken for ``user_id``."""
        entry = self._entry(action, user_id, cube_id=cube_id, item_id=item_id, detail=detail)
        (record,) = self._store.append_audit([entry])
        return record

    def record_change(self, change: MemoryChange) -> None:
        """Change journal: one audit record per memory of a change, written in the
        change's own transaction (see :class:`~memosys.core.events.ChangeEvents`)."""
        action = _CHANGE_ACTIONS.get(change.kind, f"memory.{change.kind}")
        self._store.append_audit(
            [
                self._entry(
                    action,
                    change.user_id,
                    cube_id=change.cube_id,
                    item_id=item_id,
                    detail=change.detail,
                )
                for item_id in change.item_ids
            ]
        )

    def audit_log(self, query: AuditQuery) -> list[AuditRecord]:
        """Records matching ``query``, newest first."""
        return self._store.audit_records(query)

    def audit_head(self) -> AuditAnchor | None:
        """The last record's anchor (None for an empty log); keep it to pin the chain."""
        newest = self._store.audit_records(AuditQuery(limit=1))
        return AuditAnchor(seq=newest[0].seq, hash=newest[0].hash) if newest else None

    def verify_audit(self, anchors: Sequence[AuditAnchor] = ()) -> AuditVerification:
        """Walk the whole chain and report the first record that breaks it.

        ``anchors`` (from :meth:`audit_head`, kept elsewhere) must still match.
        """
        checker = ChainChecker(anchors)
        after = 0
        while checker.ok and (batch := self._store.audit_chain(after, VERIFY_BATCH)):
            checker.feed(batch)
            after = batch[-1].seq
        return checker.finish(self._store.last_audit_seq())

    def _entry(
        self,
        action: str,
        subject: str,
        *,
        actor: str | None = None,
        cube_id: str | None = None,
        item_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """An entry stamped with now and the request's id.

        ``subject`` is the user the action was for. The actor is the request's
        (:func:`acting_user`: its principal, ``@operator`` in the CLI), else
        ``actor``, else the subject; when the actor is someone else,
        ``detail["user"]`` names the subject, so the subject sees the record.
        """
        if action not in AUDIT_ACTIONS:  # a record no query by action could find
            raise ValueError(f"audit action {action!r} is not in AUDIT_ACTIONS")
        who = acting_user(actor or subject)
        full = dict(detail or {})
        if who != subject:
            full["user"] = subject
        return AuditEntry(
            at=self._clock.now(),
            actor=who,
            action=action,
            cube_id=cube_id,
            item_id=item_id,
            request_id=current_request_id(),
            detail=full,
        )
