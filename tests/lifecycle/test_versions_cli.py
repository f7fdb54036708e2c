"""The lifecycle commands end to end on a real data directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from memosys.cli.app import EXIT_MEMOSYS_ERROR, cli
from memosys.cli.options import CliState


def _run(data: Path, embedder: Any, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--data", str(data), *args], obj=CliState(embedder=embedder), env={"COLUMNS": "200"}
    )


def _json(data: Path, embedder: Any, *args: str) -> Any:
    result = _run(data, embedder, *args, "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def test_history_rollback_freeze_and_snapshots(fresh_data_dir: Path, embedder: Any) -> None:
    data = fresh_data_dir
    (added,) = _json(data, embedder, "add", "--text", "The garage code is 1234.")
    item_id = added["id"]
    _json(data, embedder, "snapshot", "create", "first")
    _json(data, embedder, "update", item_id, "--content", "The garage code is 9876.")
    versions = _json(data, embedder, "history", item_id)
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["item"]["content"] == "The garage code is 1234."
    table = _run(data, embedder, "history", item_id)
    assert table.exit_code == 0 and "garage code" in table.stdout

    shown = _json(data, embedder, "snapshot", "show", "first")
    assert [i["content"] for i in shown] == ["The garage code is 1234."]
    hits = _json(data, embedder, "snapshot", "search", "first", "garage code")
    assert hits[0]["item"]["content"] == "The garage code is 1234."
    assert [s["name"] for s in _json(data, embedder, "snapshot", "list")] == ["first"]

    restored = _json(data, embedder, "rollback", item_id, "1")
    assert restored["version"] == 3 and restored["content"] == "The garage code is 1234."

    assert _json(data, embedder, "freeze", item_id)["state"] == "frozen"
    refused = _run(data, embedder, "delete", item_id, "--yes")
    assert refused.exit_code == EXIT_MEMOSYS_ERROR and "FrozenError" in refused.stderr
    assert _json(data, embedder, "unfreeze", item_id)["state"] == "generated"

    _json(data, embedder, "update", item_id, "--content", "The garage code is 5555.")
    report = _json(data, embedder, "snapshot", "restore", "first", "--yes")
    assert report["restored"] == 1
    assert _run(data, embedder, "snapshot", "delete", "first").exit_code == 0
    missing = _run(data, embedder, "snapshot", "delete", "first")
    assert missing.exit_code == EXIT_MEMOSYS_ERROR and "no snapshot" in missing.stderr


def test_forget_and_forget_user_commands(fresh_data_dir: Path, embedder: Any) -> None:
    data = fresh_data_dir
    (added,) = _json(data, embedder, "add", "--text", "Ana's locker is number 1717.")
    forgotten = _json(data, embedder, "forget", added["id"], "--yes")
    assert forgotten["forgotten"] == [added["id"]] and forgotten["compacted"]
    clean = _run(data, embedder, "verify-forgotten", "--id", added["id"], "--text", "locker")
    assert clean.exit_code == 0, clean.output

    _run(data, embedder, "add", "--user", "zed-user-41", "--text", "Zed's bike is blue.")
    gone = _json(data, embedder, "forget-user", "zed-user-41", "--yes")
    assert len(gone["forgotten"]) == 1
    after = _run(data, embedder, "verify-forgotten", "--user", "zed-user-41", "--text", "bike")
    assert after.exit_code == 0, after.output


def test_snapshot_and_forget_say_one_memory_in_the_singular(
    fresh_data_dir: Path, embedder: Any
) -> None:
    data = fresh_data_dir
    (added,) = _json(data, embedder, "add", "--text", "The shed key is under the pot.")
    taken = _run(data, embedder, "snapshot", "create", "one")
    assert taken.exit_code == 0 and "'one': 1 memory at" in taken.stdout, taken.output
    _json(data, embedder, "update", added["id"], "--content", "The shed key is in the car.")
    forgot = _run(data, embedder, "forget", added["id"], "--yes")
    assert forgot.exit_code == 0 and "forgot 1 memory (1 earlier version)" in forgot.stdout, (
        forgot.output
    )


def test_forget_user_of_an_unknown_user_does_not_suggest_creating_it(
    fresh_data_dir: Path, embedder: Any
) -> None:
    refused = _run(fresh_data_dir, embedder, "forget-user", "nobody-here", "--yes")
    assert refused.exit_code == EXIT_MEMOSYS_ERROR
    assert "NotFoundError" in refused.stderr and "nothing to forget" in refused.stderr
    assert "user add" not in refused.stderr
