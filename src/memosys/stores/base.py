"""The store protocol: everything memosys persists goes through these methods.

A store keeps users, cubes, items with their full-text and vector indexes,
and the embedding cache. Every read and write of items takes a
:class:`Scope`, and the store applies it *inside* its queries: an item
outside the scope is never read, so one user's query cannot see another
user's memories. Stores translate their library errors into
:mod:`memosys.core.errors` classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from memosys.core.cube import MemCube, User
from memosys.core.filters import Filter
from memosys.core.items import MemoryItem

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
        self, items: Sequence[MemoryItem], vectors: Vectors | None, embedder_fingerprint: str | None
    ) -> AddResult:
        """Write items, their text-index rows and vectors in one transaction.

        An item whose ``(cube_id, user_id, content_hash)`` is already stored is
        not written again; the stored item is returned in its place. Raises
        :class:`~memosys.core.errors.EmbedderMismatchError` when a cube's
        recorded fingerprint differs from ``embedder_fingerprint``.
        """
        ...

    def get_items(self, scope: Scope, ids: Sequence[str]) -> list[MemoryItem]:
        """The items with these ids inside the scope, in the order asked; others are skipped."""
        ...

    def update_item(self, scope: Scope, item: MemoryItem, vector: Vectors | None) -> MemoryItem:
        """Replace an item (same id) and, when given, its vector, in one transaction."""
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

    def items_at(
        self, scope: Scope, places: Sequence[tuple[str, str, int]], filters: Filter | None = None
    ) -> list[MemoryItem]:
        """Visible items matching ``filters`` at these (cube id, session id, position) places."""
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

    # vectors and the embedding cache
    def replace_vectors(
        self, cube_id: str, ids: Sequence[str], vectors: Vectors, embedder_fingerprint: str
    ) -> None:
        """Overwrite vectors of a cube and record its new embedder (``reembed``)."""
        ...

    def cached_embeddings(
        self, fingerprint: str, text_hashes: Sequence[str]
    ) -> dict[str, Vectors]: ...
    def cache_embeddings(self, fingerprint: str, entries: dict[str, Vectors]) -> None: ...

    def stats(self) -> dict[str, int]: ...
    def close(self) -> None: ...
