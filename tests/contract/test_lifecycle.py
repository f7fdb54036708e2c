"""Versions, rollback, state changes, snapshots and forgetting behave the same on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from memosys.core.errors import FrozenError, InvalidInputError, NotFoundError
from memosys.core.history import CubeSnapshot, ItemVersion, RestoreReport


def test_history_and_rollback(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["Ana lives in Lyon"], user_id=ana)
    api.update(item.id, user_id=ana, content="Ana lives in Paris")
    versions = api.history(item.id, user_id=ana)
    assert all(isinstance(v, ItemVersion) for v in versions)
    assert [(v.version, v.item.content) for v in versions] == [
        (1, "Ana lives in Lyon"), (2, "Ana lives in Paris")]
    restored = api.rollback(item.id, 1, user_id=ana)
    assert (restored.content, restored.version) == ("Ana lives in Lyon", 3)
    with pytest.raises(NotFoundError):
        api.history(item.id, user_id=users("ben"))


def test_rollback_to_a_version_given_as_text_is_refused(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["Ana lives in Lyon"], user_id=ana)
    api.update(item.id, user_id=ana, content="Ana lives in Paris")
    with pytest.raises(InvalidInputError) as caught:
        api.rollback(item.id, "1", user_id=ana)
    assert type(caught.value) is InvalidInputError
    assert api.get(item.id, user_id=ana).content == "Ana lives in Paris"


def test_freeze_blocks_changes_until_unfrozen(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["a frozen fact"], user_id=ana)
    assert api.freeze(item.id, user_id=ana).state == "frozen"
    with pytest.raises(FrozenError):
        api.update(item.id, user_id=ana, content="changed")
    api.unfreeze(item.id, user_id=ana)
    assert api.update(item.id, user_id=ana, content="changed").content == "changed"


def test_archive_hides_from_list_unless_asked(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["an old note about kayaks"], user_id=ana)
    assert api.archive(item.id, user_id=ana).state == "archived"
    assert api.list(user_id=ana) == []
    assert [i.id for i in api.list(user_id=ana, include_archived=True)] == [item.id]
    assert api.search("kayaks", user_id=ana, mode="bm25") == []
    assert [h.item.id for h in api.search("kayaks", user_id=ana, mode="bm25",
                                          include_archived=True)] == [item.id]
    api.unarchive(item.id, user_id=ana)
    assert [i.id for i in api.list(user_id=ana)] == [item.id]


def test_snapshot_and_restore(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["version one"], user_id=ana, cube="snap")
    taken = api.snapshot("snap", "before", user_id=ana)
    assert isinstance(taken, CubeSnapshot) and taken.item_count == 1
    api.update(item.id, user_id=ana, content="version two")
    assert [i.content for i in api.list(user_id=ana, snapshot="before")] == ["version one"]
    assert [s.name for s in api.list_snapshots(user_id=ana)] == ["before"]
    report = api.restore_snapshot("snap", "before", user_id=ana)
    assert isinstance(report, RestoreReport) and report.restored == 1
    assert api.get(item.id, user_id=ana).content == "version one"


def test_forget_removes_every_version(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["forget me entirely"], user_id=ana)
    api.update(item.id, user_id=ana, content="forget me entirely, v2")
    receipt = api.forget(item.id, user_id=ana)
    assert receipt.item_ids == [item.id] and receipt.versions >= 1
    with pytest.raises(NotFoundError):
        api.history(item.id, user_id=ana)


def test_forget_user_removes_their_memories(api: Any, users: Any) -> None:
    gone = users("gone")
    (item,) = api.add_texts(["a memory of a leaving user"], user_id=gone)
    receipt = api.forget_user(gone)
    assert receipt.item_ids == [item.id]
    assert api.list(user_id=gone) == []
