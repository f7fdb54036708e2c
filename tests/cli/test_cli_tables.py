"""Tables at 80 columns: ids are printed whole, since commands take them back whole."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.cli.conftest import Memosys


def test_key_list_shows_whole_key_ids_that_revoke_takes(memosys: Memosys) -> None:
    memosys.ok("user", "add", "ana")
    made = memosys.json("--user", "ana", "key", "create", "--name", "laptop")
    table = memosys.ok("--user", "ana", "key", "list", columns=80).stdout
    assert made["key_id"] in table
    assert max(len(line) for line in table.splitlines()) <= 80
    assert "revoked" in memosys.ok("--user", "ana", "key", "revoke", made["key_id"]).stdout


def test_audit_list_fits_80_columns_with_whole_ids(memosys: Memosys) -> None:
    (note,) = memosys.json("add", "--text", "Ana lives in Porto")
    table = memosys.ok("audit", "list", columns=80).stdout
    assert note["id"] in table and note["cube_id"] in table
    assert "memory.add" in table
    assert max(len(line) for line in table.splitlines()) <= 80


def test_cube_list_names_its_columns(memosys: Memosys) -> None:
    created = memosys.json("cube", "create", "travel", "--description", "trips")
    table = memosys.ok("cube", "list", columns=80).stdout
    assert created["id"] in table
    header = next(line for line in table.splitlines() if "name" in line)
    assert "cube id" in header and "value" not in header

