"""A change and its audit record commit together: if either write fails, neither stays.

A trigger in the real database file makes one of the two inserts fail; the
other, written in the same SQLite transaction, must be rolled back with it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from memosys import MemOS
from memosys.api.facade import DATABASE_FILE
from memosys.core.errors import MemosysError
from memosys.governance.models import AuditQuery

REFUSE_AUDIT = (
    "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
)


@contextmanager
def trigger(data_dir: Path, sql: str) -> Iterator[None]:
    """A trigger installed by another connection for the duration of the block."""
    name = sql.split()[2]
    with closing(sqlite3.connect(data_dir / DATABASE_FILE, isolation_level=None)) as conn:
        conn.execute(sql)
        try:
            yield
        finally:
            conn.execute(f"DROP TRIGGER {name}")


def records(mos: MemOS) -> int:
    return len(mos.governance.audit_log(AuditQuery(limit=10_000)))


def contents(mos: MemOS) -> list[str]:
    return [item.content for item in mos.list(user_id="ann", limit=100)]


def test_an_add_whose_audit_record_fails_stores_nothing(mos: MemOS, data_dir: Path) -> None:
    mos.add_texts(["Ann keeps bees."], user_id="ann")
    before = records(mos)
    with trigger(data_dir, REFUSE_AUDIT), pytest.raises(MemosysError, match="audit refused"):
        mos.add_texts(["Ann plays the cello."], user_id="ann")
    assert contents(mos) == ["Ann keeps bees."]
    assert records(mos) == before
    mos.add_texts(["Ann plays the cello."], user_id="ann")  # nothing half-written blocks it
    assert sorted(contents(mos)) == ["Ann keeps bees.", "Ann plays the cello."]
    assert mos.verify_audit().ok


@pytest.mark.parametrize(
    "change",
    [
        lambda mos, id: mos.update(id, user_id="ann", content="Ann keeps wasps."),
        lambda mos, id: mos.delete(id, user_id="ann"),
        lambda mos, id: mos.archive(id, user_id="ann"),
        lambda mos, id: mos.forget(id, user_id="ann"),
    ],
    ids=["update", "delete", "archive", "forget"],
)
def test_a_change_whose_audit_record_fails_leaves_the_memory_as_it_was(
    mos: MemOS, data_dir: Path, change: Callable[[MemOS, str], object]
) -> None:
    (item,) = mos.add_texts(["Ann keeps bees."], user_id="ann")
    before = records(mos)
    with trigger(data_dir, REFUSE_AUDIT), pytest.raises(MemosysError, match="audit refused"):
        change(mos, item.id)
    kept = mos.get(item.id, user_id="ann")
    assert (kept.content, kept.state, kept.version) == (item.content, item.state, item.version)
    assert len(mos.history(item.id, user_id="ann")) == 1
    assert records(mos) == before
    change(mos, item.id)  # and it works once the audit log takes records again
    assert records(mos) > before
    assert mos.verify_audit().ok


def test_a_user_or_cube_whose_audit_record_fails_is_not_created(
    mos: MemOS, data_dir: Path
) -> None:
    with trigger(data_dir, REFUSE_AUDIT), pytest.raises(MemosysError, match="audit refused"):
        mos.add_texts(["Ann keeps bees."], user_id="ann")
    assert mos.store.get_user("ann") is None
    assert mos.list_cubes(user_id="ann") == []  # a read creates no user
    assert mos.store.get_user("ann") is None
    mos.create_user("ann")
    with trigger(data_dir, REFUSE_AUDIT), pytest.raises(MemosysError, match="audit refused"):
        mos.create_cube("work", owner="ann")
    assert mos.list_cubes(user_id="ann") == []
    assert [r.action for r in mos.governance.audit_log(AuditQuery())] == [
        "key.create", "user.create"
    ]


def test_a_change_that_fails_leaves_no_audit_record(mos: MemOS, data_dir: Path) -> None:
    (item,) = mos.add_texts(["Ann keeps bees."], user_id="ann")
    refuse_update = (
        "CREATE TRIGGER refuse_update BEFORE UPDATE OF data ON items "
        "BEGIN SELECT RAISE(ABORT, 'update refused'); END"
    )
    with trigger(data_dir, refuse_update), pytest.raises(MemosysError, match="update refused"):
        mos.update(item.id, user_id="ann", content="Ann keeps wasps.")
    assert mos.governance.audit_log(AuditQuery(action="memory.update")) == []
    assert mos.get(item.id, user_id="ann").content == "Ann keeps bees."
    assert mos.verify_audit().ok


def test_a_dedup_whose_audit_records_fail_merges_nothing(mos: MemOS, data_dir: Path) -> None:
    mos.add_texts(["Ann keeps bees.", "Ann keeps bees!"], user_id="ann", kind="fact")
    with trigger(data_dir, REFUSE_AUDIT), pytest.raises(MemosysError, match="audit refused"):
        mos.dedup(user_id="ann", threshold=0.5)
    stored = mos.list(user_id="ann", include_archived=True)
    assert sorted(i.state.value for i in stored) == ["generated", "generated"]
    assert len(mos.dedup(user_id="ann", threshold=0.5)) == 1  # the same merge, audited
    assert mos.verify_audit().ok


def test_a_forget_user_that_fails_leaves_the_user_whole(mos: MemOS, data_dir: Path) -> None:
    key = mos.create_user("ann").api_key
    mos.add_texts(["Ann keeps bees."], user_id="ann")
    mos.create_cube("garden", owner="ann")
    mos.create_user("bob")
    mos.share_cube("garden", with_user="bob", user_id="ann")
    keep_user = (
        "CREATE TRIGGER keep_user BEFORE DELETE ON users "
        "BEGIN SELECT RAISE(ABORT, 'user kept'); END"
    )
    with trigger(data_dir, keep_user), pytest.raises(MemosysError, match="user kept"):
        mos.forget_user("ann")
    assert mos.authenticate(key).user_id == "ann"  # the key was not revoked
    assert contents(mos) == ["Ann keeps bees."]
    assert [c.name for c in mos.list_cubes(user_id="bob")] == ["garden"]  # nor the share
    mos.forget_user("ann")
    assert mos.list_cubes(user_id="bob") == []
    with pytest.raises(MemosysError):
        mos.authenticate(key)
    assert mos.verify_audit().ok
