"""Change notifications: who needs to know that memories changed, and when.

Every committed add, update, delete, forget or state change is a
:class:`MemoryChange`. A *journal* (the audit log) hears each change inside
the transaction that makes it, so the change and its record commit
together or not at all. *Listeners* (KV caches, adapters, the scheduler)
hear it after the commit and react, so the write path never imports them.
A writer wraps its store calls and :meth:`ChangeEvents.emit` in
:meth:`ChangeEvents.changing`; an ``emit`` outside such a block is its own
transaction. A listener must not raise for ordinary reasons; derived data
is also re-validated against source versions when it is used, so a change
made by another process is caught there. A writer may hand listeners the
memories as it wrote them (:attr:`MemoryChange.items`), sparing them a
reload; they may have changed again since, so what a listener writes back
it reads from the store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

from memosys.core.items import MemoryItem

ChangeKind = Literal["added", "updated", "deleted", "forgotten", "state"]
#: The changes after which a copy made from a memory (a KV cache, an adapter) may no
#: longer match it.
INVALIDATING_KINDS: frozenset[ChangeKind] = frozenset({"updated", "deleted", "forgotten"})


@dataclass(frozen=True)
class MemoryChange:
    """What changed: the kind of change, the memory ids, their cube and the acting user.

    ``items``, when the writer passes them, are the memories as written, for
    listeners in the same process (see the module docstring). ``detail`` says
    more about the change for the audit log, e.g. which state change it was.
    """

    kind: ChangeKind
    item_ids: tuple[str, ...]
    cube_id: str | None
    user_id: str
    items: tuple[MemoryItem, ...] = field(default=(), compare=False, repr=False)
    detail: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[MemoryChange], None]
Transaction = Callable[[], AbstractContextManager[object]]


class ChangeEvents:
    """Journals called inside a change's transaction, listeners called after its commit.

    ``transaction`` opens the store's write transaction (nestable); without
    one, journals simply run before listeners.
    """

    def __init__(self, transaction: Transaction = nullcontext) -> None:
        self._transaction = transaction
        self._journals: list[Listener] = []
        self._listeners: list[Listener] = []
        self._local = threading.local()

    def journal(self, journal: Listener) -> None:
        """Call ``journal`` inside the transaction of every change from now on; if it
        raises, the change is rolled back."""
        self._journals.append(journal)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` after every committed change from now on."""
        self._listeners.append(listener)

    @contextmanager
    def changing(self) -> Iterator[None]:
        """One transaction for the store writes and the :meth:`emit` calls in the block:
        journals run inside it, listeners after it commits (an outer block's commit when
        blocks nest)."""
        pending: list[MemoryChange] | None = getattr(self._local, "pending", None)
        if pending is not None:
            mark = len(pending)
            try:
                with self._transaction():
                    yield
            except BaseException:
                del pending[mark:]
                raise
            return
        pending = self._local.pending = []
        try:
            with self._transaction():
                yield
        finally:
            self._local.pending = None
        for change in pending:
            for listener in self._listeners:
                listener(change)

    def emit(
        self,
        kind: ChangeKind,
        item_ids: Sequence[str],
        *,
        cube_id: str | None,
        user_id: str,
        items: Sequence[MemoryItem] = (),
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Report a change: journaled in the current :meth:`changing` block (or in a
        transaction of its own), announced to listeners once that commits.

        ``items`` are the memories of ``item_ids`` as written, if the writer has them;
        ``detail`` goes into each of their audit records.
        """
        pending: list[MemoryChange] | None = getattr(self._local, "pending", None)
        if pending is None:
            with self.changing():
                self.emit(
                    kind, item_ids, cube_id=cube_id, user_id=user_id, items=items, detail=detail
                )
            return
        change = MemoryChange(
            kind, tuple(item_ids), cube_id, user_id, tuple(items), dict(detail or {})
        )
        for journal in self._journals:
            journal(change)
        pending.append(change)
