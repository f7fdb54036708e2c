"""Versions, rollback, state changes, snapshots and forgetting behave the same on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from memosys import MemOS
from memosys.core.errors import (
    FrozenError,
    IllegalTransitionError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
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


def test_versions_snapshots_and_shares_name_the_actor_of_their_audit_record(
    api: Any, users: Any
) -> None:
    ana, ben = users("ana"), users("ben")
    # a library call for ana is ana's doing; the remote clients' admin key acts for ana
    actor = ana if isinstance(api, MemOS) else "admin"
    api.add_texts(["Ben exists."], user_id=ben)
    (item,) = api.add_texts(["Ana lives in Lyon"], user_id=ana, cube="who")
    api.update(item.id, user_id=ana, content="Ana lives in Paris")
    taken = api.snapshot("who", "before", user_id=ana)
    api.rollback(item.id, 1, user_id=ana)
    api.restore_snapshot("who", "before", user_id=ana)
    share = api.share_cube("who", user_id=ana, with_user=ben)

    history = api.history(item.id, user_id=ana)
    assert [(v.version, v.changed_by) for v in history] == [(n, actor) for n in (1, 2, 3, 4)]
    assert taken.taken_by == actor
    assert [s.taken_by for s in api.list_snapshots(user_id=ana)] == [actor]
    assert share.granted_by == actor
    assert [s.granted_by for s in api.list_shares("who", user_id=ana)] == [actor]
    records = api.audit_log(user_id=ana, cube="who")
    assert {r.action for r in records} == {
        "cube.create", "memory.add", "memory.update", "snapshot.create", "snapshot.restore",
        "cube.share",
    }
    assert {(r.actor, r.detail.get("user", ana)) for r in records} == {(actor, ana)}


def test_rollback_to_a_version_given_as_text_is_refused(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["Ana lives in Lyon"], user_id=ana)
    api.update(item.id, user_id=ana, content="Ana lives in Paris")
    with pytest.raises(InvalidInputError) as caught:
        api.rollback(item.id, "1", user_id=ana)
    assert type(caught.value) is InvalidInputError
    assert api.get(item.id, user_id=ana).content == "Ana lives in Paris"


@pytest.mark.parametrize("version", [3, 2**63 - 1, 2**63, 10**30])
def test_rollback_to_a_version_that_never_was_is_not_found(
    api: Any, users: Any, version: int
) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["Ana lives in Lyon"], user_id=ana)
    api.update(item.id, user_id=ana, content="Ana lives in Paris")
    with pytest.raises(NotFoundError, match=f"has no version {version}"):
        api.rollback(item.id, version, user_id=ana)
    assert [v.version for v in api.history(item.id, user_id=ana)] == [1, 2]


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
    assert (api.count(user_id=ana), api.count(user_id=ana, include_archived=True)) == (0, 1)
    assert api.count(user_id=ana, include_history=True) == 0  # archived is not history
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


def test_delete_snapshot_drops_its_name_and_is_audited(api: Any, users: Any) -> None:
    ana, ben, cai = users("ana"), users("ben"), users("cai")
    api.create_user(ben)
    api.add_texts(["kept in the history"], user_id=ana, cube="snaps")
    api.snapshot("snaps", "old", user_id=ana)
    api.share_cube("snaps", user_id=ana, with_user=ben, access="read")
    cube_id = api.cube("snaps", user_id=ana).id
    with pytest.raises(PermissionDeniedError):
        api.delete_snapshot(cube_id, "old", user_id=ben)
    with pytest.raises(NotFoundError):
        api.delete_snapshot(cube_id, "old", user_id=cai)
    assert api.delete_snapshot("snaps", "old", user_id=ana) is None
    assert api.list_snapshots(user_id=ana) == []
    (record,) = api.audit_log(user_id=ana, action="snapshot.delete")
    assert (record.cube_id, record.detail["name"]) == (cube_id, "old")  # remote actor: admin
    with pytest.raises(NotFoundError):
        api.delete_snapshot("snaps", "old", user_id=ana)
    api.snapshot("snaps", "old", user_id=ana)  # the name is free again


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
    nobody = users("nobody")
    with pytest.raises(NotFoundError):
        api.forget_user(gone)  # (before any call as ``gone``, which creates the user again)
    with pytest.raises(NotFoundError):
        api.forget_user(nobody)
    assert api.list(user_id=gone) == []
    assert len(api.audit_log(user_id=gone, action="user.forget")) == 1
    assert api.audit_log(user_id=nobody, action="user.forget") == []


def test_state_changes_are_told_apart_in_the_audit_log(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["a note to freeze and archive"], user_id=ana)
    api.freeze(item.id, user_id=ana)
    api.archive(api.unfreeze(item.id, user_id=ana).id, user_id=ana)
    records = api.audit_log(user_id=ana, item_id=item.id, action="memory.state")
    assert [r.detail["change"] for r in reversed(records)] == ["freeze", "unfreeze", "archive"]
    assert records[0].detail["state"] == "archived"


def test_content_added_again_after_it_left_the_current_set_is_a_new_current_memory(
    api: Any, users: Any
) -> None:
    ana = users("ana")
    (kept,) = api.add_texts(["Ana keeps bees."], user_id=ana)
    assert api.add_texts(["Ana keeps bees."], user_id=ana)[0].id == kept.id  # a current repeat
    archived = api.archive(kept.id, user_id=ana)
    (again,) = api.add_texts(["Ana keeps bees."], user_id=ana, tags=["hobby"])
    assert again.id != archived.id and again.tags == ["hobby"]
    assert [i.id for i in api.list(user_id=ana)] == [again.id]
    unarchived = api.unarchive(archived.id, user_id=ana)  # back, beside the newer copy
    assert {i.id for i in api.list(user_id=ana)} == {again.id, unarchived.id}
    (paris,) = api.add([{"role": "user", "content": "I live in Paris."}], user_id=ana)
    (berlin,) = api.add([{"role": "user", "content": "I live in Berlin."}], user_id=ana)
    assert api.get(paris.id, user_id=ana).state == "superseded"
    current = api.count(user_id=ana)
    assert api.count(user_id=ana, include_history=True) == current + 1  # Paris, superseded
    (back,) = api.add([{"role": "user", "content": "I live in Paris."}], user_id=ana)
    assert back.id != paris.id  # the move back is news, not the stale memory
    assert api.get(berlin.id, user_id=ana).superseded_by == back.id


def test_only_an_archived_memory_can_be_unarchived(api: Any, users: Any) -> None:
    ana = users("ana")
    (google,) = api.add_texts(["I work at Google as an engineer."], user_id=ana, kind="fact")
    api.add_texts(["I now work at Spotify."], user_id=ana, kind="fact")
    assert api.get(google.id, user_id=ana).state == "superseded"
    for memory in (google, api.add_texts(["A plain note."], user_id=ana)[0]):
        with pytest.raises(IllegalTransitionError, match="is not archived"):
            api.unarchive(memory.id, user_id=ana)
    assert api.get(google.id, user_id=ana).state == "superseded"


def test_a_memory_is_frozen_and_unfrozen_by_its_owner_only_even_in_a_shared_cube(
    api: Any, users: Any
) -> None:
    ana, ben = users("ana"), users("ben")
    api.create_user(ben)
    (anas,) = api.add_texts(["Ana's plan for the shared garden"], user_id=ana, cube="shared")
    api.share_cube("shared", user_id=ana, with_user=ben, access="write")
    (bens,) = api.add_texts(["Ben's note on the garden"], user_id=ben, cube=anas.cube_id)
    # a read-write sharer could freeze Ana's memory and then not unfreeze it (nor Ana,
    # the cube's owner, Ben's); now the memory's owner alone does both
    for memory, owner, other in ((anas, ana, ben), (bens, ben, ana)):
        with pytest.raises(PermissionDeniedError) as refused:
            api.freeze(memory.id, user_id=other)
        assert type(refused.value) is PermissionDeniedError
        assert f"only the owner {owner!r} can freeze" in refused.value.message
        assert "ask them to freeze it" in refused.value.message
        assert api.get(memory.id, user_id=owner).state == "generated"
        assert api.freeze(memory.id, user_id=owner).state == "frozen"
        with pytest.raises(PermissionDeniedError, match="only the owner"):
            api.unfreeze(memory.id, user_id=other)
        assert api.unfreeze(memory.id, user_id=owner).state == "generated"
        assert [v.version for v in api.history(memory.id, user_id=owner)] == [1, 2, 3]


def test_a_read_only_sharer_is_refused_every_change_and_a_stranger_finds_nothing(
    api: Any, users: Any
) -> None:
    ana, ben, cai = users("ana"), users("ben"), users("cai")
    for user in (ben, cai):
        api.create_user(user)
    (item,) = api.add_texts(["Ana's plan for the garden"], user_id=ana, cube="garden")
    api.update(item.id, user_id=ana, tags=["spring"])
    api.snapshot("garden", "spring", user_id=ana)
    api.share_cube("garden", user_id=ana, with_user=ben, access="read")
    cube = item.cube_id
    changes = {
        "update": lambda user: api.update(item.id, user_id=user, tags=["mine"]),
        "update, current if_version": lambda user: api.update(
            item.id, user_id=user, tags=["mine"], if_version=2),
        "update, stale if_version": lambda user: api.update(
            item.id, user_id=user, tags=["mine"], if_version=1),
        "delete": lambda user: api.delete(item.id, user_id=user),
        "rollback": lambda user: api.rollback(item.id, 1, user_id=user),
        "freeze": lambda user: api.freeze(item.id, user_id=user),
        "unfreeze": lambda user: api.unfreeze(item.id, user_id=user),
        "archive": lambda user: api.archive(item.id, user_id=user),
        "unarchive": lambda user: api.unarchive(item.id, user_id=user),
        "forget": lambda user: api.forget(item.id, user_id=user),
        "snapshot": lambda user: api.snapshot(cube, "mine", user_id=user),
        "delete snapshot": lambda user: api.delete_snapshot(cube, "spring", user_id=user),
        "restore snapshot": lambda user: api.restore_snapshot(cube, "spring", user_id=user),
    }
    for name, change in changes.items():
        for user, refusal in ((ben, PermissionDeniedError), (cai, NotFoundError)):
            with pytest.raises(refusal) as refused:
                change(user)
            assert type(refused.value) is refusal, (name, user, refused.value)
    assert [v.version for v in api.history(item.id, user_id=ben)] == [1, 2]
    assert [s.name for s in api.list_snapshots(user_id=ana)] == ["spring"]


@pytest.mark.parametrize("name", ["", "   ", 5, "x" * 201, "line\nbreak"])
def test_a_snapshot_name_that_no_snapshot_can_have_is_invalid_input(
    api: Any, users: Any, name: Any
) -> None:
    ana = users("ana")
    api.add_texts(["a memory in a snapshotted cube"], user_id=ana, cube="named")
    api.snapshot("named", "fine", user_id=ana)
    calls = {
        "snapshot": lambda: api.snapshot("named", name, user_id=ana),
        "delete_snapshot": lambda: api.delete_snapshot("named", name, user_id=ana),
        "restore_snapshot": lambda: api.restore_snapshot("named", name, user_id=ana),
        "list": lambda: api.list(user_id=ana, cube="named", snapshot=name),
        "search": lambda: api.search("memory", user_id=ana, cube="named", snapshot=name),
    }
    for call in calls.values():
        with pytest.raises(InvalidInputError) as refused:
            call()
        assert type(refused.value) is InvalidInputError, (call, refused.value)
    assert [s.name for s in api.list_snapshots(user_id=ana)] == ["fine"]
