"""The facade's governance methods: users, API keys, cube sharing and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

from memosys.api.cubes import checked_user_id
from memosys.api.facade import FacadeBase, checked_text
from memosys.core.checks import checked_flag, is_whole
from memosys.core.errors import InvalidInputError
from memosys.governance.models import (
    AUDIT_ACTIONS,
    Access,
    ApiKeyInfo,
    AuditQuery,
    AuditRecord,
    AuditVerification,
    IssuedKey,
    Principal,
    Share,
)
from memosys.governance.service import ADMIN_USER, Governance

KeyInfos: TypeAlias = list[ApiKeyInfo]
Shares: TypeAlias = list[Share]
AuditRecords: TypeAlias = list[AuditRecord]
MAX_AUDIT_LIMIT = 10_000


class GovernanceMethods(FacadeBase):
    """Users, API keys, shares and the audit log (see :mod:`memosys.governance`)."""

    def create_user(self, user_id: str, *, admin: bool = False) -> IssuedKey:
        """Create a user (an administrator if ``admin``) and its first API key.

        ConflictError if the user already has keys; the plaintext key is in the
        result only and is never stored.
        """
        admin = checked_flag(admin, "admin")
        return self._governance.create_user(self._cubes.ensure_user(user_id), admin=admin)

    def create_key(self, *, user_id: str, name: str = "") -> IssuedKey:
        """A new API key for the user; its plaintext is shown this once."""
        key_name = checked_text(name, "key name")
        return self._governance.create_key(self._cubes.existing_user(user_id), name=key_name)

    def revoke_key(self, key_id: str, *, user_id: str) -> None:
        """Revoke one of the user's keys (an administrator may revoke any)."""
        self._governance.revoke_key(
            self._checked_id(key_id), user_id=self._cubes.existing_user(user_id)
        )

    def list_keys(self, *, user_id: str) -> KeyInfos:
        """The user's API keys (prefix, name, times), never their secrets."""
        return self._governance.list_keys(self._cubes.existing_user(user_id))

    def authenticate(self, api_key: str, *, client: str = "local") -> Principal:
        """The principal of an API key.

        AuthenticationError for a missing, unknown or revoked key;
        RateLimitedError after repeated failures from the same ``client``.
        """
        return self._governance.authenticate(
            api_key, client=checked_text(client, "client", empty=False)
        )

    def ensure_admin_key(self) -> IssuedKey | None:
        """Create user ``admin`` with an admin key when no administrator has one, else None."""
        self._cubes.ensure_user(ADMIN_USER)
        return self._governance.ensure_admin_key()

    def share_cube(
        self, cube: str, *, user_id: str, with_user: str, access: Access = "read"
    ) -> Share:
        """Share a cube of ``user_id`` with ``with_user``, read-only or read-write.

        Only the owner (or an administrator) may share; anyone else gets
        NotFoundError. Sharing again changes the access.
        """
        if access not in ("read", "write"):
            raise InvalidInputError(f"access must be 'read' or 'write', got {access!r}")
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.owned(user, cube)
        other = self._cubes.existing_user(with_user)
        if other == target.owner:
            raise InvalidInputError(
                f"{other!r} owns cube {target.name!r}; share it with another user"
            )
        return self._governance.share(target, by=user, with_user=other, access=access)

    def unshare_cube(self, cube: str, *, user_id: str, with_user: str) -> None:
        """Withdraw a share; NotFoundError if the cube is not shared with ``with_user``."""
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.owned(user, cube)
        other = checked_user_id(with_user, "with_user")
        self._governance.unshare(target, by=user, with_user=other)

    def list_shares(self, cube: str, *, user_id: str) -> Shares:
        """Who a cube of ``user_id`` is shared with (owner or administrator only)."""
        target = self._cubes.owned(self._cubes.reader(user_id), cube)
        return self._governance.shares_of_cube(target.id)

    def audit_log(
        self,
        *,
        user_id: str,
        cube: str | None = None,
        item_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> AuditRecords:
        """Audit records, newest first.

        Administrators see every record; other users see the records of the
        cubes they own and those of their own actions. For the next page, pass
        the last record's ``seq`` as ``before_seq``.
        """
        if not isinstance(limit, int) or not 1 <= limit <= MAX_AUDIT_LIMIT:
            raise InvalidInputError(f"limit must be an integer from 1 to {MAX_AUDIT_LIMIT}")
        if before_seq is not None and (not is_whole(before_seq) or before_seq < 1):
            raise InvalidInputError(
                f"before_seq must be an integer >= 1 (a record's seq), got {before_seq!r}"
            )
        if since is not None and not isinstance(since, datetime):
            raise InvalidInputError(f"since must be a datetime, got {since!r}")
        user = self._cubes.reader(user_id)
        admin = self._governance.is_admin(user)
        query = AuditQuery(
            visible_to=None if admin else user,
            cube_id=None if cube is None else self._audited_cube(user, admin, cube),
            item_id=None if item_id is None else self._checked_id(item_id),
            action=None if action is None else _checked_action(action),
            since=since,
            before_seq=before_seq,
            limit=limit,
        )
        return self._governance.audit_log(query)

    def _audited_cube(self, user: str, admin: bool, cube: str) -> str:
        """The id of a cube whose records are asked for: any cube for an administrator."""
        return (self._cubes.owned(user, cube) if admin else self._cubes.find(user, cube)).id

    def verify_audit(self, *, user_id: str | None = None) -> AuditVerification:
        """Check the audit chain end to end; names the first record that breaks it.

        For a ``user_id`` who is not an administrator, ``records`` (the size of
        the whole log) is left out.
        """
        verdict = self._governance.verify_audit()
        if user_id is None or self._governance.is_admin(checked_user_id(user_id)):
            return verdict
        return verdict.model_copy(update={"records": None})

    @property
    def governance(self) -> Governance:
        """The governance service (for tools such as the CLI; prefer the methods here)."""
        return self._governance


def _checked_action(action: object) -> str:
    """An audit action to filter by; InvalidInputError listing them for any other text."""
    name = checked_text(action, "action", empty=False)
    if name not in AUDIT_ACTIONS:
        raise InvalidInputError(
            f"no audit action {name!r}; use one of {', '.join(AUDIT_ACTIONS)}",
            detail={"action": name},
        )
    return name
