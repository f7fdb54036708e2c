"""Users and API keys: who the key belongs to, new users (admins), key management."""

from __future__ import annotations

from fastapi import APIRouter, Response

from memosys.governance.models import IssuedKey
from memosys.server.auth import CallerDep
from memosys.server.paths import SegmentRoute
from memosys.server.routes.lifecycle import forget_out
from memosys.server.schemas import ForgetOut, KeyIn, KeysOut, MeOut, NewUserIn, UserQuery

router = APIRouter(prefix="/v1", tags=["users and keys"], route_class=SegmentRoute)


@router.get("/me", response_model=MeOut)
def me(caller: CallerDep) -> MeOut:
    """The user the API key acts as."""
    return MeOut(user_id=caller.principal.user_id, admin=caller.principal.admin)


@router.post("/users", response_model=IssuedKey, status_code=201)
def create_user(body: NewUserIn, caller: CallerDep) -> IssuedKey:
    """Create a user and its first API key (admins only); the key is shown once."""
    caller.require_admin()
    return caller.run(caller.mos.create_user, body.user_id, admin=body.admin)


@router.delete("/users/{user_id}", response_model=ForgetOut)
def forget_user(user_id: str, caller: CallerDep) -> ForgetOut:
    """Remove everything of a user (the user itself, or an admin): memories, cubes, keys."""
    return forget_out(caller.run(caller.mos.forget_user, caller.user(user_id)))


@router.get("/keys", response_model=KeysOut)
def list_keys(caller: CallerDep, user_id: UserQuery = None) -> KeysOut:
    """The user's API keys (never their secret)."""
    return KeysOut(keys=caller.run(caller.mos.list_keys, user_id=caller.user(user_id)))


@router.post("/keys", response_model=IssuedKey, status_code=201)
def create_key(body: KeyIn, caller: CallerDep) -> IssuedKey:
    """A new API key for the user; the key is shown once."""
    return caller.run_body(caller.mos.create_key, body)


@router.delete("/keys/{key_id}", status_code=204, response_class=Response)
def revoke_key(key_id: str, caller: CallerDep, user_id: UserQuery = None) -> Response:
    """Revoke one of the user's keys."""
    caller.run(caller.mos.revoke_key, key_id, user_id=caller.user(user_id))
    return Response(status_code=204)
