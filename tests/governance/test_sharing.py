"""Shared cubes: read and write access, revocation, and 404 for everything foreign."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from memosys import InvalidInputError, MemOS, NotFoundError
from memosys.core.errors import PermissionDeniedError


@pytest.fixture
def ana_item(mos: MemOS) -> str:
    """Ana's memory in her cube 'notes'; bob exists but sees nothing of hers yet."""
    (item,) = mos.add_texts(["The launch code word is pelican."], user_id="ana", cube="notes")
    mos.add_texts(["Bob likes tea."], user_id="bob")
    return item.id


def _notes(mos: MemOS) -> str:
    return mos.cube("notes", user_id="ana").id


def test_share_read_gives_bob_reads_of_ana_cube(mos: MemOS, ana_item: str) -> None:
    cube_id = _notes(mos)
    share = mos.share_cube("notes", user_id="ana", with_user="bob")
    assert (share.cube_id, share.user_id, share.access, share.granted_by) == (
        cube_id, "bob", "read", "ana"
    )
    assert [c.name for c in mos.list_cubes(user_id="bob")] == ["default", "notes"]
    assert mos.get(ana_item, user_id="bob").content == "The launch code word is pelican."
    assert ana_item not in {i.id for i in mos.list(user_id="bob")}  # read when named
    assert {i.id for i in mos.list(user_id="bob", cube=cube_id)} == {ana_item}
    assert mos.count(user_id="bob", cube=cube_id) == 1
    hits = mos.search("launch code word", user_id="bob", top_k=3, cube=cube_id)
    assert hits[0].item.id == ana_item
    assert mos.list_shares("notes", user_id="ana") == [share]


def test_read_only_share_refuses_every_write(mos: MemOS, ana_item: str) -> None:
    cube_id = _notes(mos)
    mos.share_cube("notes", user_id="ana", with_user="bob", access="read")
    writes: list[Callable[[], Any]] = [
        lambda: mos.add_texts(["sneaky"], user_id="bob", cube=cube_id),
        lambda: mos.add([{"role": "user", "content": "sneaky"}], user_id="bob", cube=cube_id),
        lambda: mos.update(ana_item, user_id="bob", content="changed"),
        lambda: mos.delete(ana_item, user_id="bob"),
    ]
    for write in writes:
        with pytest.raises(PermissionDeniedError, match="read-only"):
            write()
    assert mos.get(ana_item, user_id="ana").content == "The launch code word is pelican."
    assert mos.count(user_id="ana", cube="notes") == 1


def test_write_share_allows_adds_updates_and_deletes(mos: MemOS, ana_item: str) -> None:
    cube_id = _notes(mos)
    mos.share_cube("notes", user_id="ana", with_user="bob", access="write")
    (added,) = mos.add_texts(["Bob wrote this into ana's cube."], user_id="bob", cube=cube_id)
    assert added.cube_id == cube_id and added.user_id == "bob"
    assert mos.update(ana_item, user_id="bob", tags=["seen"]).tags == ["seen"]
    mos.delete(added.id, user_id="bob")
    assert mos.count(user_id="ana", cube="notes") == 1


def test_sharing_again_changes_access(mos: MemOS, ana_item: str) -> None:
    mos.share_cube("notes", user_id="ana", with_user="bob", access="write")
    mos.share_cube("notes", user_id="ana", with_user="bob", access="read")
    with pytest.raises(PermissionDeniedError):
        mos.update(ana_item, user_id="bob", tags=["x"])
    assert [s.access for s in mos.list_shares("notes", user_id="ana")] == ["read"]


def test_listed_shared_cubes_name_the_users_access(mos: MemOS, ana_item: str) -> None:
    mos.share_cube("notes", user_id="ana", with_user="bob", access="read")
    assert [c.acl for c in mos.list_cubes(user_id="bob")] == [{}, {"bob": "read"}]
    mos.share_cube("notes", user_id="ana", with_user="bob", access="write")
    assert mos.list_cubes(user_id="bob")[1].acl == {"bob": "write"}
    assert mos.cube("notes", user_id="ana").acl == {}  # the stored cube is unchanged


def test_unshare_makes_the_cube_foreign_again(mos: MemOS, ana_item: str) -> None:
    cube_id = _notes(mos)
    mos.share_cube("notes", user_id="ana", with_user="bob", access="write")
    mos.unshare_cube("notes", user_id="ana", with_user="bob")
    assert [c.name for c in mos.list_cubes(user_id="bob")] == ["default"]
    with pytest.raises(NotFoundError):
        mos.get(ana_item, user_id="bob")
    with pytest.raises(NotFoundError):
        mos.add_texts(["late"], user_id="bob", cube=cube_id)
    with pytest.raises(NotFoundError, match="not shared"):
        mos.unshare_cube("notes", user_id="ana", with_user="bob")
    assert mos.list_shares("notes", user_id="ana") == []


def test_foreign_ids_are_not_found_everywhere(mos: MemOS, ana_item: str) -> None:
    cube_id = _notes(mos)
    attempts: dict[str, Callable[[], Any]] = {
        "get": lambda: mos.get(ana_item, user_id="bob"),
        "update": lambda: mos.update(ana_item, user_id="bob", content="mine now"),
        "delete": lambda: mos.delete(ana_item, user_id="bob"),
        "search": lambda: mos.search("pelican", user_id="bob", cube=cube_id),
        "list": lambda: mos.list(user_id="bob", cube=cube_id),
        "count": lambda: mos.count(user_id="bob", cube=cube_id),
        "write": lambda: mos.add_texts(["x"], user_id="bob", cube=cube_id),
        "cube": lambda: mos.cube(cube_id, user_id="bob"),
        "share": lambda: mos.share_cube(cube_id, user_id="bob", with_user="bob"),
        "unshare": lambda: mos.unshare_cube(cube_id, user_id="bob", with_user="ana"),
        "list_shares": lambda: mos.list_shares(cube_id, user_id="bob"),
        "audit": lambda: mos.audit_log(user_id="bob", cube=cube_id),
    }
    for name, attempt in attempts.items():
        with pytest.raises(NotFoundError):
            attempt()
            pytest.fail(f"{name} reached ana's data")
    assert all(hit.item.id != ana_item for hit in mos.search("pelican", user_id="bob"))
    assert ana_item not in {i.id for i in mos.list(user_id="bob")}
    assert [c.name for c in mos.list_cubes(user_id="bob")] == ["default"]
    assert mos.get(ana_item, user_id="ana").content == "The launch code word is pelican."


def test_sharee_cannot_reshare_and_read_share_is_not_ownership(
    mos: MemOS, ana_item: str
) -> None:
    cube_id = _notes(mos)
    mos.add_texts(["Cy exists."], user_id="cy")
    mos.share_cube("notes", user_id="ana", with_user="bob", access="write")
    with pytest.raises(NotFoundError):
        mos.share_cube(cube_id, user_id="bob", with_user="cy")
    with pytest.raises(NotFoundError):
        mos.list_shares(cube_id, user_id="bob")
    with pytest.raises(NotFoundError):
        mos.get(ana_item, user_id="cy")


def test_admin_may_share_any_cube_by_id(mos: MemOS, ana_item: str) -> None:
    admin = mos.ensure_admin_key()
    assert admin is not None
    share = mos.share_cube(_notes(mos), user_id="admin", with_user="bob")
    assert share.granted_by == "admin"
    assert mos.get(ana_item, user_id="bob").id == ana_item


def test_bad_share_arguments(mos: MemOS, ana_item: str) -> None:
    with pytest.raises(InvalidInputError, match="'read' or 'write'"):
        mos.share_cube("notes", user_id="ana", with_user="bob", access="admin")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="owns cube"):
        mos.share_cube("notes", user_id="ana", with_user="ana")
    with pytest.raises(NotFoundError, match="memosys user add"):
        mos.share_cube("notes", user_id="ana", with_user="nobody")
    with pytest.raises(NotFoundError):
        mos.share_cube("missing", user_id="ana", with_user="bob")


def test_shared_cube_name_does_not_shadow_own_cube(mos: MemOS, ana_item: str) -> None:
    mos.share_cube("notes", user_id="ana", with_user="bob", access="write")
    (own,) = mos.add_texts(["Bob's own notes."], user_id="bob", cube="notes")
    assert own.cube_id != _notes(mos)
    assert mos.cube("notes", user_id="bob").owner == "bob"


def test_reembed_leaves_shared_cubes_to_their_owner(mos: MemOS, ana_item: str) -> None:
    cube_id = _notes(mos)
    mos.share_cube("notes", user_id="ana", with_user="bob", access="read")
    assert mos.reembed(user_id="bob") == mos.count(user_id="bob", cube="default")
    with pytest.raises(PermissionDeniedError):
        mos.reembed(user_id="bob", cube=cube_id)
    mos.share_cube("notes", user_id="ana", with_user="bob", access="write")
    assert mos.reembed(user_id="bob", cube=cube_id) == 1
