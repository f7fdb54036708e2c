"""What the facade's method groups share: its parts, the write path and a few checks.

:class:`~memosys.api.local.MemOS` is assembled from method groups (governance,
versions, upkeep, parametric, generation, transfer), each a class in its own
module. They all derive from :class:`FacadeBase`, which names the parts that
``MemOS.__init__`` builds and holds what they have in common.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from memosys.api.access import AccessRecorder
from memosys.api.cubes import MAX_NAME_CHARS, Cubes
from memosys.core.checks import is_whole
from memosys.core.clock import Clock
from memosys.core.errors import (
    InvalidInputError,
    VersionConflictError,
    memory_not_found,
    version_conflict,
)
from memosys.core.events import ChangeEvents
from memosys.core.items import MemoryItem
from memosys.governance.service import Governance
from memosys.models.embedders.base import Embedder
from memosys.settings import MemosysSettings
from memosys.stores.base import Scope, Store, Vectors

if TYPE_CHECKING:
    from memosys.api.local import MemOS

DATABASE_FILE = "memosys.db"


class FacadeBase:
    """The parts of a memory system that every method group uses (set by ``MemOS``)."""

    settings: MemosysSettings
    data_dir: Path | None
    events: ChangeEvents
    _store: Store
    _clock: Clock
    _embedder: Embedder
    _governance: Governance
    _cubes: Cubes
    _access: AccessRecorder

    def _in_use(self, service: str, folder: str) -> bool:
        """Whether the service stored in attribute ``service`` is open here, or has files
        in the data directory's ``folder`` (made by another instance or process)."""
        if getattr(self, service, None) is not None:
            return True
        return self.data_dir is not None and (self.data_dir / folder).is_dir()

    def _as_memos(self) -> MemOS:
        """This object as the whole facade (services built on it take a MemOS)."""
        return cast("MemOS", self)

    def _change(
        self,
        scope: Scope,
        id: str,
        make: Callable[[MemoryItem], MemoryItem],
        if_version: int | None = None,
        allowed: Callable[[MemoryItem], object] | None = None,
    ) -> MemoryItem:
        """``make(current)``: a change made from the memory's current version and written.

        When another change is written first (the store's VersionConflictError),
        the change is made again from the newer version, so neither is lost; that
        second time with the writer held from the read to the write, so that no
        third change comes between, however many clients change the memory at
        once. With ``if_version``, a memory not at that version is
        VersionConflictError instead, once ``allowed(current)`` raised nothing (a
        user who may not change the memory is told so, whatever its version).
        """
        if if_version is not None and (not is_whole(if_version) or if_version < 1):
            raise InvalidInputError(
                f"if_version must be a version number (an integer >= 1), got {if_version!r}"
            )

        def attempt() -> MemoryItem:
            current = self._get(scope, id)
            if allowed is not None:
                allowed(current)
            if if_version is not None and current.version != if_version:
                raise version_conflict(id, current.version, if_version)
            return make(current)

        try:
            return attempt()  # (without the writer: embedding a content may take a while)
        except VersionConflictError:
            if if_version is not None:
                raise
        with self.events.changing():  # one transaction: the writer held until it commits
            return attempt()

    def _get(self, scope: Scope, id: str) -> MemoryItem:
        self._access.settle()
        found = self._store.get_items(scope, [self._checked_id(id)])
        if not found:
            raise memory_not_found(id)
        return found[0]

    def _write(
        self,
        items: list[MemoryItem],
        vectors: Vectors | None,
        *,
        repeats_in_any_state: bool = False,
    ) -> list[MemoryItem]:
        """Store new items (embedded here unless ``vectors`` are given) and announce the
        fresh ones; exact repeats come back as the stored items (see
        :meth:`~memosys.stores.base.Store.add_items`)."""
        if vectors is None:
            vectors = self._embedded(items)
        with self.events.changing():
            fingerprint = self._embedder.fingerprint
            result = self._store.add_items(
                items, vectors, fingerprint, repeats_in_any_state=repeats_in_any_state
            )
            pairs = zip(result.items, result.duplicates, strict=True)
            fresh = [item for item, repeat in pairs if not repeat]
            if fresh:
                first = fresh[0]
                ids = [item.id for item in fresh]
                self.events.emit(
                    "added", ids, cube_id=first.cube_id, user_id=first.user_id, items=fresh
                )
        return result.items

    def _embedded(self, items: list[MemoryItem]) -> Vectors:
        """Vectors of ``items``: an exact repeat of a stored item (not written again)
        takes that item's vector, the others are embedded."""
        known = self._store.repeat_vectors(items, self._embedder.fingerprint)
        new = [index for index in range(len(items)) if index not in known]
        vectors = np.empty((len(items), self._embedder.dimensions), dtype=np.float32)
        if new:
            vectors[new] = self._embedder.embed([items[index].search_text() for index in new])
        for index, vector in known.items():
            vectors[index] = vector
        return vectors

    @staticmethod
    def _checked_id(value: object) -> str:
        if not isinstance(value, str) or not value:
            raise InvalidInputError(f"id must be a non-empty string, got {value!r}")
        return value


def checked_text(value: object, what: str, *, empty: bool = True) -> str:
    """A short printable string argument (``empty`` allows "")."""
    if (
        not isinstance(value, str)
        or len(value) > MAX_NAME_CHARS
        or not value.isprintable()
        or not (empty or value.strip())
    ):
        raise InvalidInputError(
            f"{what} must be {'' if empty else 'a non-empty '}printable text of at most "
            f"{MAX_NAME_CHARS} characters, got {value!r}"
        )
    return value
