"""Versions and lifecycle states as the facade uses them: state changes, freeze, tombstones.

Every change goes through ``Store.update_item``, which keeps the replaced
version and enforces the state machine and freezing
(:mod:`memosys.lifecycle.states`); this module only builds the new version.
"""

from __future__ import annotations

from datetime import datetime

from memosys.core.errors import ConfigurationError, IllegalTransitionError
from memosys.core.items import LifecycleState, MemoryItem
from memosys.lifecycle.states import FROZEN, check_transition, in_state, tombstone
from memosys.stores.base import Scope, Store, VersionStore


def version_store(store: object) -> VersionStore:
    """The versions side of a store; ConfigurationError if the backend has none."""
    provided = getattr(store, "versions", None)
    if provided is None:
        raise ConfigurationError(
            f"the {type(store).__name__} backend does not keep versions; use the SQLite store"
        )
    found: VersionStore = provided
    return found


def change_state(
    store: Store, scope: Scope, item: MemoryItem, state: LifecycleState, now: datetime
) -> MemoryItem:
    """Write ``item`` in ``state`` as a new version; IllegalTransitionError if the state
    machine does not allow it (moving to the state it is in included)."""
    check_transition(item.state, state)
    changed = in_state(item, state, now)
    return store.update_item(scope, changed, None, note=f"state: {item.state.value} -> {state}")


def delete(store: Store, scope: Scope, item: MemoryItem, now: datetime) -> MemoryItem:
    """Make ``item`` a tombstone: hidden everywhere, history kept for time travel."""
    return store.update_item(scope, tombstone(item, now), None, note="deleted")


def _require(item: MemoryItem, state: LifecycleState) -> None:
    if item.state != state:
        raise IllegalTransitionError(
            f"memory {item.id} is not {state.value} (it is {item.state.value})",
            detail={"id": item.id, "state": item.state.value},
        )


def unarchive(store: Store, scope: Scope, item: MemoryItem, now: datetime) -> MemoryItem:
    """Make an archived item current again (state activated); only an archived one."""
    _require(item, LifecycleState.ARCHIVED)
    return change_state(store, scope, item, LifecycleState.ACTIVATED, now)


def unfreeze(store: Store, scope: Scope, item: MemoryItem, now: datetime) -> MemoryItem:
    """Give a frozen item back the state it had when it was frozen (owner only)."""
    _require(item, FROZEN)
    earlier = [v.item.state for v in version_store(store).history(scope, item.id)]
    before = next((s for s in reversed(earlier) if s != FROZEN), LifecycleState.GENERATED)
    return change_state(store, scope, item, before, now)
