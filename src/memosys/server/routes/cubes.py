"""Cubes and their shares."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Response

from memosys.core.cube import MemCube
from memosys.governance.models import Share
from memosys.server.auth import CallerDep
from memosys.server.paths import SegmentRoute
from memosys.server.schemas import CubeIn, CubesOut, ShareIn, SharesOut, UserQuery

router = APIRouter(prefix="/v1/cubes", tags=["cubes"], route_class=SegmentRoute)


@router.get("", response_model=CubesOut)
def list_cubes(caller: CallerDep, user_id: UserQuery = None) -> CubesOut:
    """The user's cubes, then the cubes shared with the user."""
    return CubesOut(cubes=caller.run(caller.mos.list_cubes, user_id=caller.user(user_id)))


@router.post("", response_model=MemCube, status_code=201)
def create_cube(body: CubeIn, caller: CallerDep) -> MemCube:
    """Create a cube (409 if the owner already has one of that name)."""
    return caller.run_body(caller.mos.create_cube, body, "name", user="owner")


@router.get("/{cube}", response_model=MemCube)
def get_cube(cube: str, caller: CallerDep, user_id: UserQuery = None) -> MemCube:
    """One cube by name or id."""
    return caller.run(caller.mos.cube, cube, user_id=caller.user(user_id))


@router.get("/{cube}/shares", response_model=SharesOut)
def list_shares(cube: str, caller: CallerDep, user_id: UserQuery = None) -> SharesOut:
    """Who the cube is shared with (owner or admin only)."""
    shares = caller.run(caller.mos.list_shares, cube, user_id=caller.user(user_id))
    return SharesOut(shares=shares)


@router.post("/{cube}/shares", response_model=Share, status_code=201)
def share_cube(cube: str, body: ShareIn, caller: CallerDep) -> Share:
    """Share the cube with another user, read-only or read-write."""
    return caller.run_body(partial(caller.mos.share_cube, cube), body)


@router.delete("/{cube}/shares/{with_user}", status_code=204, response_class=Response)
def unshare_cube(
    cube: str, with_user: str, caller: CallerDep, user_id: UserQuery = None
) -> Response:
    """Revoke a share."""
    caller.run(caller.mos.unshare_cube, cube, user_id=caller.user(user_id), with_user=with_user)
    return Response(status_code=204)
