"""The store protocol: everything memosys persists goes through these methods.

A store keeps users, cubes, and items with their full-text and vector
indexes. Every read and write of items takes a
:class:`Scope`, and the store applies it *inside* its queries: an item
outside the scope is never read, so one user's query cannot see another
user's memories. Stores translate their library errors into
:mod:`memosys.core.errors` classes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from memosys.core.cube import MemCube, User
from memosys.core.filters import Filter
from memosys.core.history import CubeSnapshot, ItemVersion, RestoreReport
from memosys.core.items import ItemView, MemoryItem

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Scope:
    """What one request may touch: these cubes, as this user."""

    user_id: str
    cube_ids: tuple[str, ...]


@dataclass(frozen=True)
class ScoredId:
    """An item id with a retriever's score (higher is better)."""

    id: str
    score: float


@dataclass(frozen=True)
class AddResult:
    """Items after an add: the stored ones, and which inputs were exact repeats."""

    items: list[MemoryItem]
    duplicates: list[bool] = field(default_factory=list)


OrderBy = Literal["created_at", "event_time", "position"]


@dataclass(frozen=True)
class ForgetResult:
    """What a forget removed: the items, their cubes and versions."""

    item_ids: list[str]
    cube_ids: list[str]
    versions: int = 0
    unlinked: list[str] = field(default_factory=list)
    """Other items whose links (supersedes, merged_from, ...) to a removed item were cut."""


class VersionStore(Protocol):
    """Versions, time travel, snapshots and forgetting (``Store.versions``).

    Every change of an item through ``Store.update_item`` keeps the replaced
    version with who, when and why; these methods read and restore them.
    """

    def history(self, scope: Scope, item_id: str) -> list[ItemVersion]:
        """Every version of an item of the scope, oldest first (tombstones included)."""
        ...

    def rollback(self, scope: Scope, item_id: str, version: int) -> MemoryItem:
        """Make an earlier version current again, as a new version (state unchanged)."""
        ...

    def list_as_of(
        self,
        scope: Scope,
        at: datetime,
        filters: Filter | None = None,
        limit: int = 100,
        offset: int = 0,
        order_by: OrderBy = "created_at",
    ) -> list[MemoryItem]:
        """Items of the scope as they stood at ``at``."""
        ...

    def rank_as_of(
        self,
        scope: Scope,
        at: datetime,
        filters: Filter | None,
        *,
        query: str | None,
        vector: Vectors | None,
        limit: int,
    ) -> dict[str, list[ScoredId]]:
        """The ``limit`` best items of the scope as it stood at ``at``: ``"bm25"`` for
        ``query`` and ``"dense"`` for ``vector`` (the rankings asked for), best first."""
        ...

    def get_as_of(self, scope: Scope, at: datetime, ids: Sequence[str]) -> list[MemoryItem]:
        """These items as they stood at ``at``, in the order asked (missing ones skipped)."""
        ...

    def create_snapshot(self, cube_id: str, name: str, user_id: str) -> CubeSnapshot:
        """Name the cube's present state for ``user_id``; ``taken_by`` is the actor
        (:func:`~memosys.core.context.acting_user`)."""
        ...

    def snapshots(self, cube_ids: Sequence[str], name: str | None = None) -> list[CubeSnapshot]: ...
    def delete_snapshot(self, cube_id: str, name: str) -> bool: ...
    def restore_snapshot(self, snapshot: CubeSnapshot, user_id: str) -> RestoreReport: ...
    def item_traces(
        self, scope: Scope, ids: Sequence[str]
    ) -> list[tuple[str, bytes | None]]: ...
    def forget_items(
        self, scope: Scope, ids: Sequence[str], *, allow_frozen: bool
    ) -> ForgetResult: ...
    def user_item_ids(self, user_id: str) -> dict[str, list[str]]: ...
    def remove_user(self, user_id: str) -> list[str]: ...
    def compact(self, *, rewrite: bool = True) -> bool:
        """Clear what removals left in indexes and logs, and with ``rewrite`` the free
        space too (slow: it rewrites the storage); False if another reader prevented it."""
        ...


class Store(Protocol):
    """The storage backend protocol (SQLite now, PostgreSQL later)."""

    # users and cubes
    def put_user(self, user: User) -> User: ...
    def get_user(self, user_id: str) -> User | None: ...
    def put_cube(self, cube: MemCube) -> MemCube:
        """Insert or update a cube (matched by id)."""
        ...

    def get_cube(self, cube_id: str) -> MemCube | None: ...
    def find_cube(self, owner: str, name: str) -> MemCube | None: ...
    def list_cubes(self, owner: str | None = None) -> list[MemCube]: ...

    # items
    def add_items(
        self,
        items: Sequence[MemoryItem],
        vectors: Vectors | None,
        embedder_fingerprint: str | None,
        *,
        repeats_in_any_state: bool = False,
    ) -> AddResult:
        """Write items, their text-index rows and vectors in one transaction.

        An item whose ``(cube_id, user_id, content_hash)`` is already stored as a
        current memory is not written again; the stored item is returned in its
        place. A stored memory that is no longer current (archived, superseded,
        merged) gives its hash up instead and the item is written as a new current
        memory, unless ``repeats_in_any_state`` (an import: a line already stored in
        any state is not stored again). Raises
        :class:`~memosys.core.errors.EmbedderMismatchError` when a cube's
        recorded fingerprint differs from ``embedder_fingerprint``.
        """
        ...

    def get_items(self, scope: Scope, ids: Sequence[str]) -> list[MemoryItem]:
        """The items with these ids inside the scope, in the order asked; others are skipped."""
        ...

    def item_views(self, scope: Scope, ids: Sequence[str]) -> list[ItemView]:
        """What re-ranking reads of the items :meth:`get_items` would return, in that order."""
        ...

    def update_item(
        self, scope: Scope, item: MemoryItem, vector: Vectors | None, *, note: str | None = None
    ) -> MemoryItem:
        """Write a new version of an item (same id) and, when given, its vector, in one
        transaction; returns it with its version bumped. ``item`` is a changed copy of
        the stored version it carries: VersionConflictError if the item has moved on
        since (so a change made meanwhile is never written over).

        The replaced version is kept (with who replaced it: the actor of a change
        made for ``scope.user_id``, see :func:`~memosys.core.context.acting_user`;
        when; and ``note``: why). A deleted item raises NotFoundError, a frozen one FrozenError
        (unless its owner unfreezes it), an illegal state change
        IllegalTransitionError (:mod:`memosys.lifecycle.states`).
        """
        ...

    def delete_items(self, scope: Scope, ids: Sequence[str]) -> int:
        """Delete items with their index rows and vectors; returns how many went."""
        ...

    def list_items(
        self,
        scope: Scope,
        filters: Filter | None = None,
        limit: int = 100,
        offset: int = 0,
        order_by: OrderBy = "created_at",
    ) -> list[MemoryItem]: ...
    def count_items(self, scope: Scope, filters: Filter | None = None) -> int: ...
    def neighbours(
        self, scope: Scope, item: MemoryItem, before: int, after: int
    ) -> list[MemoryItem]:
        """Items of the same session just before and after ``item`` by position."""
        ...

    def views_at(
        self, scope: Scope, places: Sequence[tuple[str, str, int]], filters: Filter | None = None
    ) -> list[ItemView]:
        """Views of the visible items matching ``filters`` at these (cube id, session id,
        position) places."""
        ...

    # retrieval
    def text_search(
        self, scope: Scope, query: str, filters: Filter | None, limit: int
    ) -> list[ScoredId]:
        """BM25 full-text search; scores are positive, higher is better."""
        ...

    def vector_search(
        self, scope: Scope, vector: Vectors, filters: Filter | None, limit: int
    ) -> list[ScoredId]:
        """Nearest items by cosine similarity to a unit ``vector``."""
        ...

    def record_access(self, ids: Sequence[str], at: datetime) -> None: ...

    # vectors
    def replace_vectors(
        self, cube_id: str, ids: Sequence[str], vectors: Vectors, embedder_fingerprint: str
    ) -> None:
        """Overwrite vectors of a cube and record its new embedder (``reembed``)."""
        ...

    def repeat_vectors(
        self, items: Sequence[MemoryItem], embedder_fingerprint: str
    ) -> dict[int, Vectors]:
        """Vectors of the stored items that ``items`` repeat exactly (what :meth:`add_items`
        would return in their place), by position in ``items``, where the cube's vectors
        come from ``embedder_fingerprint``: a repeat needs no embedding."""
        ...

    def transaction(self) -> AbstractContextManager[object]:
        """One write transaction that every store write inside the block joins: all of
        them commit together at the end, or none does if the block raises."""
        ...

    def take_in_changes(self) -> None:
        """Bring the in-memory search indexes up to date with what other processes
        committed (a write process's adds), so that the next search need not; a
        search catches up anyway, so this only moves that work out of its way, and
        a failure is logged, not raised."""
        ...

    def warm_indexes(self) -> threading.Thread:
        """Load the in-memory search indexes (text and every cube's vectors) in a
        background thread, which is returned; searches meanwhile work as before it."""
        ...

    def keep_shared_indexes(self, stop: threading.Event) -> threading.Thread:
        """Keep the search indexes that the processes opening the store with shared
        indexes share, for them, until ``stop`` is set (a background thread, returned):
        what ``serve --workers``' parent process does, as it serves no searches."""
        ...

    def stats(self, cube_ids: Sequence[str] | None = None) -> dict[str, int]:
        """Counts of users, cubes, items and vectors, and the database size in bytes;
        with ``cube_ids``, counts of those cubes and of their items and vectors."""
        ...

    def close(self) -> None: ...
