"""What the facade's method groups share: its parts and a few argument checks.

:class:`~memosys.api.local.MemOS` is assembled from method groups (governance,
versions, upkeep, parametric, generation), each a class in its own module. They
all derive from :class:`FacadeBase`, which names the parts that ``MemOS.__init__``
builds and holds the checks they have in common.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from memosys.api.access import AccessRecorder
from memosys.api.cubes import MAX_NAME_CHARS, Cubes
from memosys.core.clock import Clock
from memosys.core.errors import InvalidInputError, NotFoundError
from memosys.core.events import ChangeEvents
from memosys.core.items import MemoryItem
from memosys.governance.service import Governance
from memosys.models.embedders.base import Embedder
from memosys.settings import MemosysSettings
from memosys.stores.base import Scope, Store

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

    def _as_memos(self) -> MemOS:
        """This object as the whole facade (services built on it take a MemOS)."""
        return cast("MemOS", self)

    def _get(self, scope: Scope, id: str) -> MemoryItem:
        self._access.settle()
        found = self._store.get_items(scope, [self._checked_id(id)])
        if not found:
            raise NotFoundError(f"memory {id!r} not found", detail={"id": id})
        return found[0]

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
