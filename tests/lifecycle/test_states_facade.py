"""Lifecycle states through the API and the store: freeze, archive, tombstones, illegal moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memosys.api.local import MemOS
from memosys.core.clock import FixedClock
from memosys.core.errors import (
    FrozenError,
    IllegalTransitionError,
    NotFoundError,
    PermissionDeniedError,
)
from memosys.core.events import MemoryChange
from memosys.core.items import LifecycleState, MemoryItem
from memosys.stores.base import Scope

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
FACT = "The office wifi password is tangerine-42."


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def _tick(clock: FixedClock) -> None:
    clock.set(clock.now() + timedelta(minutes=1))


def test_frozen_memory_cannot_be_updated_deleted_or_rolled_back(
    mos: MemOS, clock: FixedClock
) -> None:
    (item,) = mos.add_texts([FACT], user_id="ana")
    _tick(clock)
    mos.update(item.id, user_id="ana", tags=["it"])
    frozen = mos.freeze(item.id, user_id="ana")
    assert frozen.state == LifecycleState.FROZEN
    for attempt in (
        lambda: mos.update(item.id, user_id="ana", content="changed"),
        lambda: mos.delete(item.id, user_id="ana"),
        lambda: mos.rollback(item.id, 1, user_id="ana"),
        lambda: mos.archive(item.id, user_id="ana"),
        lambda: mos.forget(item.id, user_id="ana"),
    ):
        with pytest.raises(FrozenError, match="unfreeze"):
            attempt()
    current = mos.get(item.id, user_id="ana")
    assert current.content == FACT and current.version == frozen.version
    assert mos.search("wifi password", user_id="ana", mode="bm25")[0].item.id == item.id


def test_unfreeze_gives_back_the_earlier_state(mos: MemOS) -> None:
    (item,) = mos.add_texts([FACT], user_id="ana")
    mos.archive(item.id, user_id="ana")
    mos.freeze(item.id, user_id="ana")
    assert mos.unfreeze(item.id, user_id="ana").state == LifecycleState.ARCHIVED
    with pytest.raises(IllegalTransitionError, match="not frozen"):
        mos.unfreeze(item.id, user_id="ana")


def test_only_the_owner_freezes_and_unfreezes(mos: MemOS) -> None:
    (item,) = mos.add_texts([FACT], user_id="ana")
    mos.create_user("bob")
    mos.share_cube("default", user_id="ana", with_user="bob", access="write")
    # a writer who froze it could not have unfrozen it: freezing is the owner's too
    with pytest.raises(PermissionDeniedError, match="only the owner 'ana' can freeze"):
        mos.freeze(item.id, user_id="bob")
    assert mos.get(item.id, user_id="ana").state == LifecycleState.GENERATED
    mos.freeze(item.id, user_id="ana")
    with pytest.raises(PermissionDeniedError, match="only the owner 'ana' can unfreeze"):
        mos.unfreeze(item.id, user_id="bob")
    assert mos.unfreeze(item.id, user_id="ana").state == LifecycleState.GENERATED
    changed_by = [v.changed_by for v in mos.history(item.id, user_id="ana")]
    assert changed_by == ["ana", "ana", "ana"]


def test_archive_hides_from_search_and_list_until_unarchived(mos: MemOS) -> None:
    item, other = mos.add_texts([FACT, "The printer is on the second floor."], user_id="ana")
    mos.archive(item.id, user_id="ana")
    assert [i.id for i in mos.list(user_id="ana")] == [other.id]
    assert item.id not in {h.item.id for h in mos.search("wifi password", user_id="ana")}
    assert item.id in {i.id for i in mos.list(user_id="ana", include_archived=True)}
    with pytest.raises(IllegalTransitionError, match="already archived"):
        mos.archive(item.id, user_id="ana")
    assert mos.unarchive(item.id, user_id="ana").state == LifecycleState.ACTIVATED
    assert mos.search("wifi password", user_id="ana", mode="bm25")[0].item.id == item.id


def test_state_changes_emit_state_events(mos: MemOS) -> None:
    seen: list[MemoryChange] = []
    mos.events.subscribe(seen.append)
    (item,) = mos.add_texts([FACT], user_id="ana")
    mos.freeze(item.id, user_id="ana")
    mos.unfreeze(item.id, user_id="ana")
    kinds = [c.kind for c in seen if item.id in c.item_ids]
    assert kinds == ["added", "state", "state"]


def test_delete_leaves_a_tombstone_with_history(mos: MemOS, clock: FixedClock) -> None:
    (item,) = mos.add_texts([FACT], user_id="ana")
    _tick(clock)
    deleted_at = clock.now()
    mos.delete(item.id, user_id="ana")
    with pytest.raises(NotFoundError):
        mos.get(item.id, user_id="ana")
    assert mos.list(user_id="ana") == [] and mos.count(user_id="ana") == 0
    assert mos.search("wifi password", user_id="ana") == []
    with pytest.raises(NotFoundError):
        mos.delete(item.id, user_id="ana")
    versions = mos.history(item.id, user_id="ana")
    assert [v.item.state for v in versions] == [LifecycleState.GENERATED, LifecycleState.DELETED]
    assert versions[1].note == "deleted"
    # time travel still sees it before the delete
    (then,) = mos.list(user_id="ana", as_of=deleted_at - timedelta(seconds=1))
    assert then.content == FACT
    # the same content can be added again, as a new memory
    (again,) = mos.add_texts([FACT], user_id="ana")
    assert again.id != item.id and mos.get(again.id, user_id="ana").content == FACT


def test_the_store_enforces_the_state_machine_on_every_path(mos: MemOS) -> None:
    (item,) = mos.add_texts([FACT], user_id="ana")
    scope = Scope("ana", (item.cube_id,))

    def move(current: MemoryItem, state: LifecycleState) -> MemoryItem:
        return mos.store.update_item(scope, current.model_copy(update={"state": state}), None)

    merged = move(item, LifecycleState.MERGED)
    with pytest.raises(IllegalTransitionError, match="cannot become generated"):
        move(merged, LifecycleState.GENERATED)
    tomb = move(merged, LifecycleState.DELETED)
    with pytest.raises(NotFoundError, match="was deleted"):
        move(tomb, LifecycleState.ACTIVATED)
    assert [v.item.state.value for v in mos.history(item.id, user_id="ana")] == [
        "generated",
        "merged",
        "deleted",
    ]
