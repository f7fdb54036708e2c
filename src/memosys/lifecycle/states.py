"""The lifecycle state machine of a memory item.

::

    generated -> activated -> merged -> archived
        |            |           \\-> deleted
        |            +-> superseded -> activated (its successor went away) | archived | deleted
        +------------+-> archived -> activated (unarchive) | deleted
        +------------+-> frozen -> the state it was frozen in (unfreeze)
        +------------+-> deleted (a tombstone: no way out; its history stays readable)

A transition to the state the item is already in is not a transition and is
refused too, so that ``archive`` of an archived item says so instead of
writing a new version. A frozen item may only leave ``frozen`` (to the state
it had before); it can be neither changed nor deleted while frozen
(:class:`~memosys.core.errors.FrozenError`, checked by the store).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from memosys.core.errors import IllegalTransitionError
from memosys.core.items import LifecycleState, MemoryItem

GENERATED = LifecycleState.GENERATED
ACTIVATED = LifecycleState.ACTIVATED
MERGED = LifecycleState.MERGED
ARCHIVED = LifecycleState.ARCHIVED
FROZEN = LifecycleState.FROZEN
SUPERSEDED = LifecycleState.SUPERSEDED
DELETED = LifecycleState.DELETED

#: Every allowed ``old -> new`` state change.
ALLOWED: Mapping[LifecycleState, frozenset[LifecycleState]] = {
    GENERATED: frozenset({ACTIVATED, MERGED, ARCHIVED, SUPERSEDED, FROZEN, DELETED}),
    ACTIVATED: frozenset({MERGED, ARCHIVED, SUPERSEDED, FROZEN, DELETED}),
    MERGED: frozenset({ARCHIVED, FROZEN, DELETED}),
    SUPERSEDED: frozenset({ACTIVATED, ARCHIVED, FROZEN, DELETED}),
    ARCHIVED: frozenset({ACTIVATED, FROZEN, DELETED}),
    FROZEN: frozenset({GENERATED, ACTIVATED, MERGED, SUPERSEDED, ARCHIVED}),
    DELETED: frozenset(),
}

_HINTS: Mapping[LifecycleState, str] = {
    FROZEN: "unfreeze it first (only its owner can)",
    DELETED: "a deleted memory is a tombstone; add the content again as a new memory",
}


def is_allowed(old: LifecycleState, new: LifecycleState) -> bool:
    """Whether the state machine allows ``old -> new``."""
    return LifecycleState(new) in ALLOWED[LifecycleState(old)]


def check_transition(old: LifecycleState, new: LifecycleState) -> None:
    """Raise :class:`IllegalTransitionError` unless ``old -> new`` is allowed.

    The message names the states the item can move to instead.
    """
    old, new = LifecycleState(old), LifecycleState(new)
    if new in ALLOWED[old]:
        return
    if old == new:
        reason = f"the memory is already {old.value}"
    else:
        targets = ", ".join(sorted(s.value for s in ALLOWED[old])) or "none"
        reason = f"a {old.value} memory cannot become {new.value} (allowed: {targets})"
    hint = _HINTS.get(old)
    raise IllegalTransitionError(
        f"{reason}; {hint}" if hint else reason,
        detail={"from": old.value, "to": new.value},
    )


#: Kept, but not current: such a memory gives its content hash up when the same
#: content is added again, which makes a new current memory (see
#: :meth:`~memosys.stores.base.Store.add_items`).
NOT_CURRENT = frozenset({SUPERSEDED, MERGED, ARCHIVED})


def in_state(item: MemoryItem, state: LifecycleState, now: datetime, **more: Any) -> MemoryItem:
    """``item`` moved to ``state`` (not checked against :data:`ALLOWED`), with ``more``
    changes."""
    return item.model_copy(update={"state": LifecycleState(state), "updated_at": now, **more})


def tombstone(item: MemoryItem, now: datetime) -> MemoryItem:
    """``item`` deleted: a tombstone, its content hash freed, so the same content can be
    added again as a new memory (archived and superseded memories give theirs up when
    that happens: see :meth:`~memosys.stores.base.Store.add_items`)."""
    return in_state(item, DELETED, now, content_hash="")
