"""Cube and user resolution: which cubes a call may touch, as which user."""

from __future__ import annotations

from memosys.core.clock import Clock
from memosys.core.cube import MemCube, User
from memosys.core.errors import (
    ConflictError,
    EmbedderMismatchError,
    InvalidInputError,
    NotFoundError,
)
from memosys.core.ids import new_id
from memosys.stores.base import Scope, Store

DEFAULT_CUBE = "default"
MAX_NAME_CHARS = 200


def checked_name(value: object, what: str) -> str:
    """A user id or cube name: a non-empty string without control characters."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    if not value.strip() or len(value) > MAX_NAME_CHARS or not value.isprintable():
        raise InvalidInputError(
            f"{what} must be 1-{MAX_NAME_CHARS} printable characters, got {value!r}"
        )
    return value


class Cubes:
    """Finds, creates and scopes the cubes of users."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def ensure_user(self, user_id: object) -> str:
        """Check a user id and create the user on first use."""
        name = checked_name(user_id, "user_id")
        if self._store.get_user(name) is None:
            self._store.put_user(User(id=name, name=name, created_at=self._clock.now()))
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
        return self._store.put_cube(
            MemCube(
                id=new_id(),
                name=name,
                owner=owner,
                description=description,
                created_at=now,
                updated_at=now,
            )
        )

    def find(self, user_id: str, cube: object) -> MemCube:
        """A cube of the user by id or name; NotFoundError otherwise."""
        ref = checked_name(cube, "cube")
        found = self._store.get_cube(ref)
        if found is None or found.owner != user_id:
            found = self._store.find_cube(user_id, ref)
        if found is None:
            raise NotFoundError(
                f"cube {ref!r} not found for user {user_id!r}", detail={"cube": ref}
            )
        return found

    def for_write(self, user_id: str, cube: object | None) -> MemCube:
        """The cube a write goes to; a missing cube given by name is created."""
        ref = DEFAULT_CUBE if cube is None else cube
        try:
            return self.find(user_id, ref)
        except NotFoundError:
            return self.create(ref, owner=user_id)

    def scope(self, user_id: str, cube: object | None) -> Scope:
        """The read scope: the named cube(s), or every cube of the user."""
        if cube is None:
            ids = tuple(c.id for c in self._store.list_cubes(owner=user_id))
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
                    f"embedder is {fingerprint}; run `memosys reembed --data DIR` to re-embed "
                    "it, or configure the original embedder",
                    detail={"cube": cube_id, "recorded": recorded, "configured": fingerprint},
                )
