"""Snapshots are audited: taking, deleting and restoring one each leave a record."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_audit_atomic import REFUSE_AUDIT, records, trigger

from memosys import MemOS
from memosys.core.clock import FixedClock
from memosys.core.context import bind_request
from memosys.core.errors import MemosysError


def test_snapshot_create_restore_and_delete_are_in_the_audit_log(
    mos: MemOS, clock: FixedClock
) -> None:
    (item,) = mos.add_texts(["Ann keeps bees."], user_id="ann", cube="notes")
    mos.create_user("bob")
    mos.share_cube("notes", user_id="ann", with_user="bob", access="write")
    with bind_request("req-7", "bob"):
        mos.snapshot(item.cube_id, "before", user_id="bob")
    mos.update(item.id, user_id="ann", content="Ann keeps wasps.")
    mos.restore_snapshot("notes", "before", user_id="ann")
    mos.delete_snapshot("notes", "before", user_id="ann")

    created, restored, deleted = (
        mos.audit_log(user_id="ann", cube="notes", action=f"snapshot.{action}")
        for action in ("create", "restore", "delete")
    )
    assert [(r.actor, r.cube_id, r.at, r.request_id, r.detail) for r in created] == [
        ("bob", item.cube_id, clock.now(), "req-7", {"name": "before", "items": 1})
    ]
    assert [(r.actor, r.cube_id, r.detail) for r in restored] == [
        ("ann", item.cube_id, {"name": "before", "restored": 1, "removed": 0})
    ]
    assert [(r.actor, r.cube_id, r.detail) for r in deleted] == [
        ("ann", item.cube_id, {"name": "before"})
    ]
    assert mos.audit_log(user_id="bob", action="snapshot.create") == created  # bob did it
    assert mos.verify_audit().ok


def test_a_restore_records_each_memory_it_changed(mos: MemOS) -> None:
    kept, changed = mos.add_texts(["Ann keeps bees.", "Ann lives in Oslo."], user_id="ann",
                                  cube="notes")
    mos.snapshot("notes", "before", user_id="ann")
    mos.update(changed.id, user_id="ann", content="Ann lives in Bergen.")
    (added,) = mos.add_texts(["Ann sold the hives."], user_id="ann", cube="notes")
    report = mos.restore_snapshot("notes", "before", user_id="ann")

    assert sorted(report.changed_ids) == sorted([changed.id, added.id])
    (restore,) = mos.audit_log(user_id="ann", cube="notes", action="snapshot.restore")
    after = mos.audit_log(user_id="ann", cube="notes", action="memory.update")
    after = [r for r in after if r.seq > restore.seq]
    assert sorted(r.item_id for r in after) == sorted(report.changed_ids)
    assert {r.request_id for r in after} == {restore.request_id}
    assert kept.id not in {r.item_id for r in after}
    assert mos.verify_audit().ok


@pytest.mark.parametrize("action", ["create", "delete", "restore"])
def test_a_snapshot_change_whose_audit_record_fails_does_not_happen(
    mos: MemOS, data_dir: Path, action: str
) -> None:
    (item,) = mos.add_texts(["Ann keeps bees."], user_id="ann", cube="notes")
    if action != "create":
        mos.snapshot("notes", "before", user_id="ann")
        mos.update(item.id, user_id="ann", content="Ann keeps wasps.")
    change = {
        "create": lambda: mos.snapshot("notes", "before", user_id="ann"),
        "delete": lambda: mos.delete_snapshot("notes", "before", user_id="ann"),
        "restore": lambda: mos.restore_snapshot("notes", "before", user_id="ann"),
    }[action]
    snapshots, before = mos.list_snapshots(user_id="ann"), records(mos)
    content = mos.get(item.id, user_id="ann").content
    with trigger(data_dir, REFUSE_AUDIT), pytest.raises(MemosysError, match="audit refused"):
        change()
    assert mos.list_snapshots(user_id="ann") == snapshots
    assert mos.get(item.id, user_id="ann").content == content
    assert records(mos) == before
    change()  # and it works once the audit log takes records again
    assert mos.verify_audit().ok
