"""The audit log: every change is recorded with who, when, where and which request."""

from __future__ import annotations

from datetime import timedelta

import pytest

from memosys import InvalidInputError, MemOS
from memosys.core.clock import FixedClock
from memosys.core.context import bind_request
from memosys.governance.audit import GENESIS, chain_hash


def _actions(mos: MemOS, user_id: str = "admin", **query: object) -> list[str]:
    return [r.action for r in reversed(mos.audit_log(user_id=user_id, **query))]  # type: ignore[arg-type]


def test_every_change_is_recorded_in_order(mos: MemOS) -> None:
    admin = mos.ensure_admin_key()
    assert admin is not None
    key = mos.create_user("ana")
    mos.create_user("bob")
    (item,) = mos.add_texts(["first"], user_id="ana", cube="notes")
    mos.update(item.id, user_id="ana", content="second")
    mos.share_cube("notes", user_id="ana", with_user="bob", access="write")
    mos.unshare_cube("notes", user_id="ana", with_user="bob")
    mos.delete(item.id, user_id="ana")
    mos.revoke_key(key.key_id, user_id="ana")
    assert _actions(mos) == [
        "user.create", "user.admin", "key.create",  # ensure_admin_key
        "user.create", "key.create",  # ana
        "user.create", "key.create",  # bob
        "cube.create", "memory.add", "memory.update", "cube.share", "cube.unshare",
        "memory.delete", "key.revoke",
    ]
    item_records = mos.audit_log(user_id="admin", item_id=item.id)
    assert [r.action for r in item_records] == ["memory.delete", "memory.update", "memory.add"]
    assert {(r.actor, r.cube_id) for r in item_records} == {("ana", item.cube_id)}


def test_records_carry_actor_time_cube_item_and_request(mos: MemOS, clock: FixedClock) -> None:
    (item,) = mos.add_texts(["x"], user_id="ana")
    clock.set(clock.now() + timedelta(minutes=5))
    with bind_request("req-42", "admin"):
        mos.update(item.id, user_id="ana", tags=["t"])
    (record,) = mos.audit_log(user_id="ana", action="memory.update")
    assert (record.actor, record.at, record.cube_id, record.item_id, record.request_id) == (
        "admin", clock.now(), item.cube_id, item.id, "req-42"
    )
    assert record.detail == {"user": "ana"}
    (added,) = mos.audit_log(user_id="ana", action="memory.add")
    assert (added.actor, added.request_id) == ("ana", None)


def test_batch_add_records_every_memory(mos: MemOS) -> None:
    items = mos.add_texts([f"fact {i}" for i in range(5)], user_id="ana")
    records = mos.audit_log(user_id="ana", action="memory.add")
    assert sorted(r.item_id for r in records if r.item_id) == sorted(i.id for i in items)


def test_chain_links_each_record_to_the_one_before(mos: MemOS) -> None:
    mos.add_texts(["a", "b"], user_id="ana")
    records = list(reversed(mos.audit_log(user_id="ana")))
    assert records[0].seq == 1 and records[0].prev_hash == GENESIS
    for before, after in zip(records, records[1:], strict=False):
        assert after.seq == before.seq + 1 and after.prev_hash == before.hash
    assert all(r.hash == chain_hash(r.prev_hash, r.seq, r) for r in records)
    assert mos.verify_audit().model_dump() == {
        "ok": True, "records": len(records), "first_bad_seq": None, "reason": None,
    }


def test_users_see_their_cubes_and_their_actions_admins_see_all(mos: MemOS) -> None:
    mos.ensure_admin_key()
    mos.add_texts(["ana's"], user_id="ana", cube="notes")
    mos.add_texts(["bob's"], user_id="bob")
    mos.share_cube("notes", user_id="ana", with_user="bob", access="write")
    mos.add_texts(["bob in ana's cube"], user_id="bob", cube=mos.cube("notes", user_id="ana").id)
    ana_view = mos.audit_log(user_id="ana")
    assert {r.actor for r in ana_view} == {"ana", "bob"}  # bob wrote into ana's cube
    bob_view = mos.audit_log(user_id="bob")
    assert {r.actor for r in bob_view} == {"bob"}
    assert not any(r.actor == "ana" for r in bob_view)
    everything = mos.audit_log(user_id="admin", limit=1000)
    assert {r.actor for r in everything} == {"admin", "ana", "bob"}


def test_query_filters_and_limit(mos: MemOS, clock: FixedClock) -> None:
    mos.add_texts(["old"], user_id="ana")
    start = clock.now() + timedelta(hours=1)
    clock.set(start)
    mos.add_texts(["new 1", "new 2", "new 3"], user_id="ana", cube="other")
    recent = mos.audit_log(user_id="ana", since=start)
    assert [r.action for r in recent] == ["memory.add"] * 3 + ["cube.create"]
    assert len(mos.audit_log(user_id="ana", limit=2)) == 2
    assert {r.cube_id for r in mos.audit_log(user_id="ana", cube="other")} == {
        mos.cube("other", user_id="ana").id
    }
    with pytest.raises(InvalidInputError, match="limit"):
        mos.audit_log(user_id="ana", limit=0)
    with pytest.raises(InvalidInputError, match="since"):
        mos.audit_log(user_id="ana", since="yesterday")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="before_seq"):
        mos.audit_log(user_id="ana", before_seq=0)


def test_admin_filters_any_cube_by_id(mos: MemOS) -> None:
    mos.ensure_admin_key()
    mos.add_texts(["ana's"], user_id="ana", cube="notes")
    cube_id = mos.cube("notes", user_id="ana").id
    records = mos.audit_log(user_id="admin", cube=cube_id)
    assert [r.action for r in records] == ["memory.add", "cube.create"]


def test_request_context_is_per_thread(mos: MemOS) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    items = {user: mos.add_texts([f"{user}'s"], user_id=user)[0] for user in ("ana", "bob")}
    both_bound = Barrier(2)

    def update_as(user: str) -> None:
        with bind_request(f"req-{user}", user):
            both_bound.wait(timeout=30)  # both requests are bound at the same time
            mos.update(items[user].id, user_id=user, tags=["x"])

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(update_as, ["ana", "bob"]))
    for user in ("ana", "bob"):
        (record,) = mos.audit_log(user_id=user, action="memory.update")
        assert (record.actor, record.request_id) == (user, f"req-{user}")


@pytest.mark.parametrize("extra_cubes", [0, 201])  # 201: past the per-cube query limit
def test_user_view_is_the_same_however_many_cubes(mos: MemOS, extra_cubes: int) -> None:
    admin = mos.ensure_admin_key()
    assert admin is not None
    mos.create_user("bob")
    for i in range(extra_cubes):
        mos.create_cube(f"c{i}", owner="bob")
    mos.add_texts(["ana's"], user_id="ana", cube="notes")
    notes = mos.cube("notes", user_id="ana").id
    mos.share_cube("notes", user_id="ana", with_user="bob", access="write")
    with bind_request("r1", "admin"):
        (for_bob,) = mos.add_texts(["written for bob"], user_id="bob", cube=notes)
        mos.add_texts(["written for ana"], user_id="ana", cube="notes")
    mos.add_texts(["bob's own"], user_id="bob")
    seen = mos.audit_log(user_id="bob", limit=10_000)
    assert [r.seq for r in seen] == sorted((r.seq for r in seen), reverse=True)
    in_notes = {(r.action, r.item_id) for r in seen if r.cube_id == notes}
    assert in_notes == {("memory.add", for_bob.id)}  # done for bob; ana's records stay hidden
    assert len(seen) == len({r.seq for r in seen})
    pages, before = [], None
    while page := mos.audit_log(user_id="bob", limit=3, before_seq=before):
        pages += page
        before = page[-1].seq
    assert pages == seen  # paging back with before_seq gives the same view, page by page
    assert ("user.create", None) in {(r.action, r.cube_id) for r in seen}
    assert len(mos.audit_log(user_id="bob", limit=2)) == 2
    (only,) = mos.audit_log(user_id="bob", item_id=for_bob.id)
    assert (only.action, only.actor, only.detail) == ("memory.add", "admin", {"user": "bob"})
    assert mos.audit_log(user_id="bob", action="cube.share") == []  # ana's act in ana's cube


def test_reembed_records_each_batch_in_its_cube(mos: MemOS) -> None:
    items = mos.add_texts([f"fact {i}" for i in range(5)], user_id="ana", cube="notes")
    assert mos.reembed(user_id="ana", cube="notes", batch_size=2) == 5
    records = mos.audit_log(user_id="ana", cube="notes", action="cube.reembed")
    fingerprint = mos.embedder.fingerprint
    assert [(r.actor, r.cube_id, r.detail) for r in reversed(records)] == [
        ("ana", items[0].cube_id, {"items": n, "embedder": fingerprint}) for n in (2, 2, 1)
    ]
    assert mos.verify_audit().ok


def test_state_records_name_the_change_and_the_hash_covers_it(mos: MemOS) -> None:
    (item,) = mos.add_texts(["a fact that changes state"], user_id="ana")
    mos.freeze(item.id, user_id="ana")
    mos.unfreeze(item.id, user_id="ana")
    mos.archive(item.id, user_id="ana")
    mos.unarchive(item.id, user_id="ana")
    records = list(reversed(mos.audit_log(user_id="ana", action="memory.state")))
    assert [r.detail for r in records] == [
        {"change": "freeze", "state": "frozen"},
        {"change": "unfreeze", "state": "generated"},  # the state it had
        {"change": "archive", "state": "archived"},
        {"change": "unarchive", "state": "activated"},
    ]
    forged = records[0].model_copy(update={"detail": {"change": "archive", "state": "archived"}})
    assert chain_hash(forged.prev_hash, forged.seq, forged) != records[0].hash
    assert mos.verify_audit().ok
