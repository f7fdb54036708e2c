"""Lifecycle: versions, rollback, state changes, snapshots and forgetting."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

from fastapi import APIRouter, Response

from memosys.api.version_methods import StateChange
from memosys.core.history import CubeSnapshot, RestoreReport
from memosys.core.items import MemoryItem
from memosys.lifecycle.forget import ForgetReceipt
from memosys.server.auth import CallerDep
from memosys.server.paths import SegmentRoute
from memosys.server.schemas import (
    ForgetOut,
    RollbackIn,
    SnapshotIn,
    SnapshotsOut,
    UserIn,
    UserQuery,
    VersionsOut,
)

router = APIRouter(prefix="/v1", tags=["lifecycle"], route_class=SegmentRoute)


def forget_out(receipt: ForgetReceipt) -> ForgetOut:
    """The receipt without the removed texts."""
    fields = asdict(receipt)
    fields.pop("texts")
    fields.pop("unlinked")
    return ForgetOut.model_validate(fields)


@router.get("/memories/{id}/history", response_model=VersionsOut)
def history(id: str, caller: CallerDep, user_id: UserQuery = None) -> VersionsOut:
    """Every version of a memory with who changed what and when."""
    return VersionsOut(versions=caller.run(caller.mos.history, id, user_id=caller.user(user_id)))


@router.post("/memories/{id}/rollback", response_model=MemoryItem)
def rollback(id: str, body: RollbackIn, caller: CallerDep) -> MemoryItem:
    """Make an earlier version current again, as a new version."""
    return caller.run_body(partial(caller.mos.rollback, id), body, "version")


@router.post("/memories/{id}/forget", response_model=ForgetOut)
def forget(id: str, caller: CallerDep, body: UserIn | None = None) -> ForgetOut:
    """Remove a memory everywhere, with all its versions (irreversible)."""
    return forget_out(caller.run_body(partial(caller.mos.forget, id), body or UserIn()))


@router.post("/memories/{id}/{change}", response_model=MemoryItem)
def change_state(
    id: str, change: StateChange, caller: CallerDep, body: UserIn | None = None
) -> MemoryItem:
    """Freeze, unfreeze, archive or unarchive a memory."""
    method = {
        "freeze": caller.mos.freeze,
        "unfreeze": caller.mos.unfreeze,
        "archive": caller.mos.archive,
        "unarchive": caller.mos.unarchive,
    }[change]
    return caller.run_body(partial(method, id), body or UserIn())


@router.post("/cubes/{cube}/snapshots", response_model=CubeSnapshot, status_code=201)
def snapshot(cube: str, body: SnapshotIn, caller: CallerDep) -> CubeSnapshot:
    """Name the cube's present state."""
    return caller.run_body(partial(caller.mos.snapshot, cube), body, "name")


@router.get("/snapshots", response_model=SnapshotsOut)
def list_snapshots(
    caller: CallerDep, user_id: UserQuery = None, cube: str | None = None
) -> SnapshotsOut:
    """Snapshots of the user's cubes (or of one cube)."""
    found = caller.run(caller.mos.list_snapshots, user_id=caller.user(user_id), cube=cube)
    return SnapshotsOut(snapshots=found)


@router.delete("/cubes/{cube}/snapshots/{name}", status_code=204, response_class=Response)
def delete_snapshot(cube: str, name: str, caller: CallerDep, user_id: UserQuery = None) -> Response:
    """Drop a snapshot's name (the versions it pointed at stay in the history)."""
    caller.run(caller.mos.delete_snapshot, cube, name, user_id=caller.user(user_id))
    return Response(status_code=204)


@router.post("/cubes/{cube}/snapshots/{name}/restore", response_model=RestoreReport)
def restore_snapshot(
    cube: str, name: str, caller: CallerDep, body: UserIn | None = None
) -> RestoreReport:
    """Make the cube's memories what they were at the snapshot."""
    return caller.run_body(partial(caller.mos.restore_snapshot, cube, name), body or UserIn())
