"""audit verify and audit list on a log whose records were edited by hand."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.cli.conftest import Memosys


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("at", "garbage", "garbage"),
        ("at", 10**18, str(10**18)),
        ("actor", b"\x00mallory", "mallory"),
    ],
)
def test_a_field_of_the_wrong_type_is_the_first_bad_record(
    memosys: Memosys, column: str, value: object, shown: str
) -> None:
    for text in ("first note", "second note", "third note"):
        memosys.ok("add", "--text", text)
    with sqlite3.connect(memosys.data / "memosys.db") as raw:
        raw.execute("DROP TRIGGER audit_log_no_update")
        raw.execute(f"UPDATE audit_log SET {column} = ? WHERE seq = 2", (value,))
    raw.close()

    verify = memosys.run("audit", "verify")
    assert verify.exit_code == 1, verify.output
    assert "BROKEN at record 2" in verify.stderr

    listed = memosys.ok("audit", "list")
    assert shown in listed.stdout
    records = memosys.json("audit", "list")
    (edited,) = [r for r in records if r["seq"] == 2]
    assert shown in str(edited)


def test_each_command_is_one_request_in_the_audit_log(memosys: Memosys) -> None:
    memosys.ok("add", "--text", "first note", "--text", "second note")
    memosys.ok("add", "--text", "third note")
    records = memosys.json("audit", "list")
    adds = [r for r in records if r["action"] == "memory.add"]
    assert len(adds) == 3
    by_request: dict[str, int] = {}
    for record in records:
        assert record["request_id"], record
        by_request[record["request_id"]] = by_request.get(record["request_id"], 0) + 1
    first, second = adds[2]["request_id"], adds[0]["request_id"]
    assert adds[1]["request_id"] == first != second
    assert all(len(request) == len(adds[0]["item_id"]) for request in by_request)


def test_commands_are_recorded_as_the_operator_for_the_user_they_are_for(
    memosys: Memosys,
) -> None:
    memosys.ok("user", "add", "bob")
    memosys.ok("key", "create", "--user", "bob", "--name", "ci")
    memosys.ok("forget-user", "bob", "--yes")
    records = memosys.json("audit", "list")
    assert [(r["action"], r["actor"], r["detail"].get("user")) for r in records] == [
        ("user.forget", "@operator", "bob"),
        ("key.create", "@operator", "bob"),
        ("key.create", "@operator", "bob"),  # the first key, made with the user
        ("user.create", "@operator", "bob"),
    ]
    assert memosys.json("audit", "list", "--actor", "@operator") == records
    assert memosys.json("audit", "list", "--actor", "bob") == []
    table = memosys.ok("audit", "list").stdout
    assert "@operator" in table and "user=bob" in table
    assert memosys.json("audit", "verify")["ok"] is True


def test_versions_and_snapshots_made_by_commands_name_the_operator(memosys: Memosys) -> None:
    (item,) = memosys.json("add", "--text", "Ana lives in Lyon")
    memosys.ok("update", item["id"], "--content", "Ana lives in Paris")
    history = memosys.json("history", item["id"])
    assert [v["changed_by"] for v in history] == ["@operator", "@operator"]
    taken = memosys.json("snapshot", "create", "before")
    assert taken["taken_by"] == "@operator"
    records = memosys.json("audit", "list", "--item", item["id"])
    assert {(r["actor"], r["detail"]["user"]) for r in records} == {("@operator", "default")}


@pytest.mark.parametrize(
    "args",
    [("user", "add", "@x"), ("--user", "@operator", "add", "--text", "a note")],
)
def test_a_user_id_starting_with_at_is_refused(memosys: Memosys, args: tuple[str, ...]) -> None:
    refused = memosys.run(*args)
    assert refused.exit_code == 2, refused.output
    assert "InvalidInputError" in refused.stderr
    assert "user ids may not start with '@'" in refused.stderr
    assert memosys.json("audit", "list") == []
