"""RemoteMemOS calls of governance: shares, users, API keys and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

from memosys.api.remote_http import HttpSession, segment, without_none
from memosys.governance.models import (
    ApiKeyInfo,
    AuditRecord,
    AuditVerification,
    IssuedKey,
    Share,
)

if TYPE_CHECKING:
    from memosys.governance.models import Access

Shares: TypeAlias = list[Share]
Keys: TypeAlias = list[ApiKeyInfo]
Records: TypeAlias = list[AuditRecord]


class GovernanceCalls(HttpSession):
    """The governance methods of :class:`~memosys.api.remote.RemoteMemOS`."""

    def share_cube(
        self, cube: str, *, user_id: str | None = None, with_user: str, access: Access = "read"
    ) -> Share:
        """Share a cube with another user, ``read`` or ``write``."""
        path = f"/v1/cubes/{segment(cube, 'cube')}/shares"
        data = self._send("POST", path, user_id=user_id, with_user=with_user, access=access)
        return Share.model_validate(data)

    def unshare_cube(self, cube: str, *, user_id: str | None = None, with_user: str) -> None:
        """Revoke a share."""
        path = f"/v1/cubes/{segment(cube, 'cube')}/shares/{segment(with_user, 'with_user')}"
        self._request("DELETE", path, params=without_none({"user_id": user_id}))

    def list_shares(self, cube: str, *, user_id: str | None = None) -> Shares:
        """Who a cube is shared with."""
        data = self._get(f"/v1/cubes/{segment(cube, 'cube')}/shares", user_id=user_id)
        return [Share.model_validate(share) for share in data["shares"]]

    def create_user(self, user_id: str, *, admin: bool = False) -> IssuedKey:
        """Create a user with its first API key (admin keys only)."""
        data = self._send("POST", "/v1/users", user_id=user_id, admin=admin)
        return IssuedKey.model_validate(data)

    def create_key(self, *, user_id: str | None = None, name: str = "") -> IssuedKey:
        """A new API key for the user; its plaintext is shown only here."""
        return IssuedKey.model_validate(self._send("POST", "/v1/keys", user_id=user_id, name=name))

    def revoke_key(self, key_id: str, *, user_id: str | None = None) -> None:
        """Revoke one of the user's keys."""
        path = f"/v1/keys/{segment(key_id, 'key_id')}"
        self._request("DELETE", path, params=without_none({"user_id": user_id}))

    def list_keys(self, *, user_id: str | None = None) -> Keys:
        """The user's API keys, without their secrets."""
        data = self._get("/v1/keys", user_id=user_id)
        return [ApiKeyInfo.model_validate(key) for key in data["keys"]]

    def audit_log(
        self,
        *,
        user_id: str | None = None,
        cube: str | None = None,
        item_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> Records:
        """Audit records the user may see, newest first; page back with ``before_seq``."""
        data = self._get(
            "/v1/audit",
            user_id=user_id,
            cube=cube,
            item_id=item_id,
            action=action,
            since=since,
            before_seq=before_seq,
            limit=limit,
        )
        return [AuditRecord.model_validate(record) for record in data["records"]]

    def verify_audit(self, *, user_id: str | None = None) -> AuditVerification:
        """Check the audit hash chain on the server (the number of records only for an
        admin key acting for itself)."""
        return AuditVerification.model_validate(self._get("/v1/audit/verify", user_id=user_id))
