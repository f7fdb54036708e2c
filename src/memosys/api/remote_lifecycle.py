"""RemoteMemOS calls of the memory lifecycle: versions, states, snapshots, forgetting."""

from __future__ import annotations

from typing import TypeAlias

from pydantic import TypeAdapter

from memosys.api.remote_http import HttpSession, memory_segment, segment, without_none
from memosys.core.history import CubeSnapshot, ItemVersion, RestoreReport
from memosys.core.items import MemoryItem
from memosys.lifecycle.forget import ForgetReceipt

Versions: TypeAlias = list[ItemVersion]
Snapshots: TypeAlias = list[CubeSnapshot]
_VERSIONS = TypeAdapter(Versions)


class LifecycleCalls(HttpSession):
    """The lifecycle methods of :class:`~memosys.api.remote.RemoteMemOS`."""

    def history(self, id: str, *, user_id: str | None = None) -> Versions:
        """Every version of a memory, numbered from 1."""
        data = self._get(f"/v1/memories/{memory_segment(id)}/history", user_id=user_id)
        return _VERSIONS.validate_python(data["versions"])

    def rollback(self, id: str, version: int, *, user_id: str | None = None) -> MemoryItem:
        """Make an earlier version current again, as a new version."""
        path = f"/v1/memories/{memory_segment(id)}/rollback"
        return MemoryItem.model_validate(self._send("POST", path, version=version, user_id=user_id))

    def freeze(self, id: str, *, user_id: str | None = None) -> MemoryItem:
        """Freeze a memory (its owner only): it cannot change until its owner unfreezes it."""
        return self._change_state(id, "freeze", user_id)

    def unfreeze(self, id: str, *, user_id: str | None = None) -> MemoryItem:
        """Give a frozen memory back the state it had (its owner only)."""
        return self._change_state(id, "unfreeze", user_id)

    def archive(self, id: str, *, user_id: str | None = None) -> MemoryItem:
        """Archive a memory: left out of search and list unless ``include_archived``."""
        return self._change_state(id, "archive", user_id)

    def unarchive(self, id: str, *, user_id: str | None = None) -> MemoryItem:
        """Bring an archived memory back."""
        return self._change_state(id, "unarchive", user_id)

    def _change_state(self, id: str, change: str, user_id: str | None) -> MemoryItem:
        path = f"/v1/memories/{memory_segment(id)}/{change}"
        return MemoryItem.model_validate(self._send("POST", path, user_id=user_id))

    def forget(self, id: str, *, user_id: str | None = None) -> ForgetReceipt:
        """Remove a memory everywhere (the receipt carries no texts over HTTP)."""
        path = f"/v1/memories/{memory_segment(id)}/forget"
        return ForgetReceipt(**self._send("POST", path, user_id=user_id))

    def forget_user(self, user_id: str) -> ForgetReceipt:
        """Remove everything of a user (that user's key, or an admin key)."""
        path = f"/v1/users/{segment(user_id, 'user_id')}"
        return ForgetReceipt(**self._request("DELETE", path))

    def snapshot(self, cube: str, name: str, *, user_id: str | None = None) -> CubeSnapshot:
        """Name the cube's present state."""
        path = f"/v1/cubes/{segment(cube, 'cube')}/snapshots"
        return CubeSnapshot.model_validate(self._send("POST", path, name=name, user_id=user_id))

    def list_snapshots(
        self, *, user_id: str | None = None, cube: str | None = None
    ) -> Snapshots:
        """Snapshots of the user's cubes (or of one cube)."""
        data = self._get("/v1/snapshots", user_id=user_id, cube=cube)
        return [CubeSnapshot.model_validate(s) for s in data["snapshots"]]

    def delete_snapshot(self, cube: str, name: str, *, user_id: str | None = None) -> None:
        """Drop a snapshot's name (the versions it pointed at stay in the history)."""
        path = f"/v1/cubes/{segment(cube, 'cube')}/snapshots/{segment(name, 'name')}"
        self._request("DELETE", path, params=without_none({"user_id": user_id}))

    def restore_snapshot(
        self, cube: str, name: str, *, user_id: str | None = None
    ) -> RestoreReport:
        """Make the cube's memories what they were at the snapshot."""
        path = f"/v1/cubes/{segment(cube, 'cube')}/snapshots/{segment(name, 'name')}/restore"
        return RestoreReport.model_validate(self._send("POST", path, user_id=user_id))
