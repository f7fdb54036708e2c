"""In-process change notifications: who needs to know that memories changed.

The facade emits a :class:`MemoryChange` after every committed update,
delete or forget. Subsystems that derive data from memories (KV caches,
adapters, the audit log, the scheduler) subscribe and react, so the write
path never imports them. A listener must not raise for ordinary reasons;
derived data is also re-validated against source versions when it is used,
so a change made by another process is caught there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

ChangeKind = Literal["added", "updated", "deleted", "forgotten", "state"]


@dataclass(frozen=True)
class MemoryChange:
    """What changed: the kind of change, the memory ids, their cube and the acting user."""

    kind: ChangeKind
    item_ids: tuple[str, ...]
    cube_id: str | None
    user_id: str


Listener = Callable[[MemoryChange], None]


class ChangeEvents:
    """A list of listeners called in order of subscription."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` after every change from now on."""
        self._listeners.append(listener)

    def emit(
        self, kind: ChangeKind, item_ids: Sequence[str], *, cube_id: str | None, user_id: str
    ) -> None:
        """Tell every listener about a committed change."""
        change = MemoryChange(kind, tuple(item_ids), cube_id, user_id)
        for listener in self._listeners:
            listener(change)
