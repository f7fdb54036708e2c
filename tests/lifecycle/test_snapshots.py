"""Cube snapshots on a real store: take, read (list and search), restore, refuse bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memosys.api.local import MemOS
from memosys.core.clock import FixedClock
from memosys.core.errors import ConflictError, FrozenError, InvalidInputError, NotFoundError
from memosys.core.items import LifecycleState

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
NOTES = [
    "The team standup moved to 9:30.",
    "Budget review is on Thursday.",
    "The staging server runs Postgres 15.",
]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def _snapshot_then_change(mos: MemOS, clock: FixedClock) -> list[str]:
    """Three notes, snapshot 'q2', then: note 0 edited, note 1 deleted, a new note added."""
    ids = [item.id for item in mos.add_texts(NOTES, user_id="ana")]
    taken = mos.snapshot("default", "q2", user_id="ana")
    assert taken.item_count == 3 and taken.taken_by == "ana"
    # same instant as the snapshot: still after it
    mos.update(ids[0], user_id="ana", content="The team standup moved to 10:00.")
    clock.set(T0 + timedelta(hours=1))
    mos.delete(ids[1], user_id="ana")
    (new,) = mos.add_texts(["The staging server was upgraded to Postgres 16."], user_id="ana")
    return [*ids, new.id]


def test_a_snapshot_lists_and_searches_the_cube_as_it_was(
    mos: MemOS, clock: FixedClock
) -> None:
    ids = _snapshot_then_change(mos, clock)
    then = mos.list(user_id="ana", snapshot="q2")
    assert [i.content for i in then] == NOTES
    now = mos.list(user_id="ana")
    assert {i.id for i in now} == {ids[0], ids[2], ids[3]}
    hits = mos.search("Postgres staging server", user_id="ana", snapshot="q2", mode="bm25")
    assert [h.item.id for h in hits] == [ids[2]]
    hits = mos.search("standup time", user_id="ana", snapshot="q2", top_k=1)
    assert hits[0].item.content == NOTES[0]


def test_restore_brings_the_cube_back_as_new_versions(mos: MemOS, clock: FixedClock) -> None:
    ids = _snapshot_then_change(mos, clock)
    clock.set(T0 + timedelta(hours=2))
    report = mos.restore_snapshot("default", "q2", user_id="ana")
    assert (report.restored, report.removed, report.unchanged) == (2, 1, 1)
    assert sorted(report.changed_ids) == sorted([ids[0], ids[1], ids[3]])
    assert [i.content for i in mos.list(user_id="ana")] == NOTES
    with pytest.raises(NotFoundError):
        mos.get(ids[3], user_id="ana")  # added after the snapshot: now a tombstone
    back = mos.get(ids[1], user_id="ana")  # deleted after the snapshot: back again
    assert back.state == LifecycleState.GENERATED and back.content == NOTES[1]
    assert mos.history(ids[0], user_id="ana")[-1].note == "restore snapshot 'q2'"
    (record,) = mos.audit_log(user_id="ana", item_id=ids[0], limit=1)
    assert (record.action, record.detail) == ("memory.update", {"snapshot": "q2"})
    # the restore itself is history: the state before it is still readable
    before = mos.list(user_id="ana", as_of=T0 + timedelta(hours=1, minutes=30))
    assert "The staging server was upgraded to Postgres 16." in [i.content for i in before]


def test_restore_refuses_when_a_changed_memory_is_frozen(mos: MemOS, clock: FixedClock) -> None:
    ids = _snapshot_then_change(mos, clock)
    mos.freeze(ids[0], user_id="ana")
    with pytest.raises(FrozenError, match="unfreeze"):
        mos.restore_snapshot("default", "q2", user_id="ana")
    assert mos.get(ids[0], user_id="ana").content == "The team standup moved to 10:00."
    assert mos.get(ids[3], user_id="ana").state == LifecycleState.GENERATED  # nothing changed


def test_snapshot_names_and_lookups(mos: MemOS, clock: FixedClock) -> None:
    mos.add_texts(NOTES, user_id="ana")
    mos.snapshot("default", "q2", user_id="ana")
    with pytest.raises(ConflictError, match="already has a snapshot"):
        mos.snapshot("default", "q2", user_id="ana")
    with pytest.raises(InvalidInputError):
        mos.snapshot("default", "", user_id="ana")
    with pytest.raises(NotFoundError, match="no snapshot called 'q9'"):
        mos.list(user_id="ana", snapshot="q9")
    with pytest.raises(NotFoundError):
        mos.list(user_id="bob", snapshot="q2")  # another user's snapshot is not visible
    clock.set(T0 + timedelta(days=1))
    mos.snapshot("default", "q3", user_id="ana")
    assert [s.name for s in mos.list_snapshots(user_id="ana")] == ["q2", "q3"]
    assert mos.list_snapshots(user_id="bob") == []


def test_a_forgotten_memory_is_gone_from_snapshots_for_good(
    mos: MemOS, clock: FixedClock
) -> None:
    ids = _snapshot_then_change(mos, clock)
    mos.forget(ids[2], user_id="ana")
    assert ids[2] not in {i.id for i in mos.list(user_id="ana", snapshot="q2")}
    report = mos.restore_snapshot("default", "q2", user_id="ana")
    assert ids[2] not in report.changed_ids
    with pytest.raises(NotFoundError):
        mos.get(ids[2], user_id="ana")


def test_a_snapshot_includes_a_burst_of_writes_in_the_same_instant(
    mos: MemOS, clock: FixedClock
) -> None:
    """Versions of one item last at least 1 µs, so a burst runs ahead of a stopped clock."""
    (item,) = mos.add_texts(["counter 0"], user_id="ana")
    for n in range(1, 4):
        mos.update(item.id, user_id="ana", content=f"counter {n}")
    mos.snapshot("default", "burst", user_id="ana")
    (seen,) = mos.list(user_id="ana", snapshot="burst")
    assert seen.content == "counter 3"
    assert mos.search("nothing matches zzz", user_id="ana", snapshot="burst", mode="bm25") == []


def test_restore_brings_back_a_text_deleted_and_added_again_since(
    mos: MemOS, clock: FixedClock
) -> None:
    (first,) = mos.add_texts([NOTES[0]], user_id="ana")
    (second,) = mos.add_texts([NOTES[1]], user_id="ana")
    mos.snapshot("default", "q2", user_id="ana")
    clock.set(T0 + timedelta(hours=1))
    mos.delete(first.id, user_id="ana")
    (again,) = mos.add_texts([NOTES[0]], user_id="ana")  # the same text, a new memory
    # and two memories swap their texts by way of a third
    mos.update(second.id, user_id="ana", content="Budget review moved.")
    mos.update(again.id, user_id="ana", content=NOTES[1])
    clock.set(T0 + timedelta(hours=2))

    report = mos.restore_snapshot("default", "q2", user_id="ana")

    assert (report.restored, report.removed) == (2, 1)
    assert [(i.id, i.content) for i in mos.list(user_id="ana")] == [
        (first.id, NOTES[0]), (second.id, NOTES[1])
    ]
    with pytest.raises(NotFoundError):
        mos.get(again.id, user_id="ana")
    # each got its content hash back: adding the text again is a repeat, not a new memory
    assert [i.id for i in mos.add_texts(NOTES[:2], user_id="ana")] == [first.id, second.id]


def test_a_restore_brings_back_a_freeze_only_for_the_owner(
    mos: MemOS, clock: FixedClock
) -> None:
    """Only an owner freezes: a writer's restore gives the memory the state it was frozen
    from, the owner's restore gives back the freeze."""
    (item,) = mos.add_texts([NOTES[0]], user_id="ana")
    mos.archive(item.id, user_id="ana")
    mos.freeze(item.id, user_id="ana")
    mos.snapshot("default", "frozen", user_id="ana")
    clock.set(T0 + timedelta(hours=1))
    mos.unfreeze(item.id, user_id="ana")
    mos.update(item.id, user_id="ana", content="The team standup moved to 10:00.")
    mos.create_user("bob")
    mos.share_cube("default", user_id="ana", with_user="bob", access="write")

    mos.restore_snapshot(item.cube_id, "frozen", user_id="bob")
    back = mos.get(item.id, user_id="ana")
    assert (back.content, back.state) == (NOTES[0], LifecycleState.ARCHIVED)
    mos.update(item.id, user_id="bob", content="Standup is at 10:00.")  # not frozen

    mos.restore_snapshot("default", "frozen", user_id="ana")
    back = mos.get(item.id, user_id="ana")
    assert (back.content, back.state) == (NOTES[0], LifecycleState.FROZEN)
