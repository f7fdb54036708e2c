"""Cube and user resolution: which cubes a call may touch, as which user.

A user reaches the cubes it owns (by name or id) and the cubes shared with
it (by id). Reads cover both; writes need ownership or a read-write share.
A cube the user can neither own nor see is reported missing, never
forbidden, so that ids do not leak.
"""

from __future__ import annotations

from memosys.core.clock import Clock
from memosys.core.context import OPERATOR_ACTOR, SYSTEM_ACTOR_PREFIX
from memosys.core.cube import MemCube, User
from memosys.core.errors import (
    ConflictError,
    EmbedderMismatchError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from memosys.core.ids import is_id, new_id
from memosys.governance.service import Governance
from memosys.stores.base import Scope, Store

DEFAULT_CUBE = "default"
MAX_NAME_CHARS = 200


def checked_name(value: object, what: str) -> str:
    """A cube name (or a user id, see :func:`checked_user_id`): a non-empty string
    without control characters."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    if not value.strip() or len(value) > MAX_NAME_CHARS or not value.isprintable():
        raise InvalidInputError(
            f"{what} must be 1-{MAX_NAME_CHARS} printable characters, got {value!r}"
        )
    return value


def checked_user_id(value: object, what: str = "user_id") -> str:
    """A user id: a name (:func:`checked_name`) that does not start with ``@``, kept for
    actors that are not users (``@operator``: a CLI command), so that no user can pose
    as one in the audit log, a version's author or a share's grantor."""
    name = checked_name(value, what)
    if name.startswith(SYSTEM_ACTOR_PREFIX):
        raise InvalidInputError(
            f"{what} {name!r} is not allowed: user ids may not start with "
            f"{SYSTEM_ACTOR_PREFIX!r} (kept for system actors such as {OPERATOR_ACTOR}); "
            "choose a name without it",
            detail={what: name},
        )
    return name


def _missing(ref: str, user_id: str) -> NotFoundError:
    return NotFoundError(f"cube {ref!r} not found for user {user_id!r}", detail={"cube": ref})


class Cubes:
    """Finds, creates and scopes the cubes of users, owned and shared."""

    def __init__(self, store: Store, clock: Clock, governance: Governance) -> None:
        self._store = store
        self._clock = clock
        self._governance = governance

    def ensure_user(self, user_id: object) -> str:
        """Check a user id and create the user on first use."""
        name = checked_user_id(user_id)
        if self._store.get_user(name) is None:
            with self._store.transaction():  # the user and its audit record, once
                if self._store.get_user(name) is None:
                    self._store.put_user(User(id=name, name=name, created_at=self._clock.now()))
                    self._governance.record("user.create", name)
        return name

    def reader(self, user_id: object) -> str:
        """A checked user id for a read: an unknown user is not created (it sees nothing)."""
        return checked_user_id(user_id)

    def existing_user(self, user_id: object, fix: str | None = None) -> str:
        """A user id that is already known; NotFoundError otherwise, whose message ends
        with ``fix`` (default: create the user first)."""
        name = checked_user_id(user_id)
        if self._store.get_user(name) is None:
            fix = fix or f"create it first with `memosys user add {name}`"
            raise NotFoundError(f"user {name!r} not found; {fix}", detail={"user_id": name})
        return name

    def create(self, name: object, owner: str, description: str = "") -> MemCube:
        """A new cube; raises ConflictError if the owner already has one so named."""
        name = checked_name(name, "cube name")
        if self._store.find_cube(owner, name) is not None:
            raise ConflictError(
                f"user {owner!r} already has a cube named {name!r}; pick another name",
                detail={"cube": name},
            )
        now = self._clock.now()
        with self._store.transaction():
            cube = self._store.put_cube(
                MemCube(
                    id=new_id(),
                    name=name,
                    owner=owner,
                    description=description,
                    created_at=now,
                    updated_at=now,
                )
            )
            self._governance.record("cube.create", owner, cube_id=cube.id, detail={"name": name})
        return cube

    def find(self, user_id: str, cube: object) -> MemCube:
        """A cube the user owns (by id or name) or that is shared with it (by id)."""
        ref = checked_name(cube, "cube")
        found = self._store.get_cube(ref)
        if found is not None and (
            found.owner == user_id or self._governance.access(found.id, user_id) is not None
        ):
            return found
        owned = self._store.find_cube(user_id, ref)
        if owned is None:
            raise _missing(ref, user_id)
        return owned

    def owned(self, user_id: str, cube: object) -> MemCube:
        """A cube the user owns (any cube, by id, for an administrator); NotFoundError otherwise."""
        ref = checked_name(cube, "cube")
        found = self._store.get_cube(ref)
        if found is not None and (found.owner == user_id or self._governance.is_admin(user_id)):
            return found
        owned = self._store.find_cube(user_id, ref)
        if owned is None:
            raise _missing(ref, user_id)
        return owned

    def visible(self, user_id: str) -> list[MemCube]:
        """The user's own cubes, then the cubes shared with it, whose ``acl`` names the
        user's access (``{user_id: "read" | "write"}``) so a client can tell what it may change."""
        shared = []
        for share in self._governance.shares_of_user(user_id):
            cube = self._store.get_cube(share.cube_id)
            if cube is not None:
                shared.append(cube.model_copy(update={"acl": {user_id: share.access}}))
        return [*self._store.list_cubes(owner=user_id), *shared]

    def for_write(self, user_id: str, cube: object | None) -> MemCube:
        """The cube a write goes to; a missing cube given by name is created.

        A shared cube needs a read-write share (PermissionDeniedError otherwise);
        an id that names no reachable cube is NotFoundError, never a new cube.
        """
        ref = DEFAULT_CUBE if cube is None else checked_name(cube, "cube")
        try:
            found = self.find(user_id, ref)
        except NotFoundError:
            if is_id(ref):
                raise
            try:
                return self.create(ref, owner=user_id)
            except ConflictError:  # another writer created it just now
                found = self.find(user_id, ref)
        self.check_write(user_id, found)
        return found

    def writable(self, user_id: str, cube: object) -> MemCube:
        """A cube the user may change: its own, or one shared with it read-write."""
        found = self.find(user_id, cube)
        self.check_write(user_id, found)
        return found

    def check_write(self, user_id: str, cube: MemCube | str) -> None:
        """Refuse a change to a cube the user may only read (or cannot see at all)."""
        target = self._store.get_cube(cube) if isinstance(cube, str) else cube
        if target is not None and target.owner == user_id:
            return
        cube_id = cube if isinstance(cube, str) else cube.id
        access = self._governance.access(cube_id, user_id)
        if access == "write":
            return
        if target is None or access is None:
            raise _missing(cube_id, user_id)
        raise PermissionDeniedError(
            f"cube {target.name!r} is shared with {user_id!r} read-only; ask its owner "
            f"{target.owner!r} for write access",
            detail={"cube": target.id, "access": access},
        )

    def search_scope(self, user_id: str, cube: object | None) -> Scope:
        """What a search, list or count reads: the named cube(s), else the user's own
        cubes. A shared cube is read only when named (its id), so that no one can put
        memories in another user's searches by sharing a cube with them unasked."""
        if cube is None:
            return Scope(user_id, tuple(c.id for c in self._store.list_cubes(owner=user_id)))
        return self.scope(user_id, cube)

    def scope(self, user_id: str, cube: object | None) -> Scope:
        """The read scope: the named cube(s), or every cube the user owns or shares."""
        if cube is None:
            owned = [c.id for c in self._store.list_cubes(owner=user_id)]
            shared = [s.cube_id for s in self._governance.shares_of_user(user_id)]
            ids = tuple(dict.fromkeys([*owned, *shared]))
        elif isinstance(cube, (list, tuple)):
            ids = tuple(self.find(user_id, c).id for c in cube)
        else:
            ids = (self.find(user_id, cube).id,)
        return Scope(user_id=user_id, cube_ids=ids)

    def check_embedder(self, scope: Scope, fingerprint: str) -> None:
        """Refuse to query cubes whose vectors came from another embedder."""
        for cube_id in scope.cube_ids:
            cube = self._store.get_cube(cube_id)
            recorded = cube.embedder_fingerprint if cube else None
            if cube is not None and recorded is not None and recorded != fingerprint:
                raise EmbedderMismatchError(
                    f"cube {cube.name!r} was embedded with {recorded}, but the configured "
                    f"embedder is {fingerprint}; run `memosys reembed --data DIR --all-users` "
                    "to re-embed it, or configure the original embedder",
                    detail={"cube": cube_id, "recorded": recorded, "configured": fingerprint},
                )
