"""init, add, search, list, get, update, delete, export and import through the CLI, with --json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.cli.conftest import Memosys

MESSAGES = [
    {"role": "user", "name": "Ana", "content": "I moved to Porto last month for a new job."},
    {"role": "assistant", "content": "Congratulations on the move to Porto!"},
    {"role": "user", "name": "Ana", "content": "My sister Rita is visiting me in June.",
     "metadata": {"dia_id": "D1:3"}},
]


def test_init_creates_database_and_settings(memosys: Memosys) -> None:
    result = memosys.ok("init")
    assert (memosys.data / "memosys.db").exists()
    assert (memosys.data / "settings.json").exists()
    assert str(memosys.data.resolve()) in result.stdout


def test_add_messages_from_stdin_then_search_list_get(memosys: Memosys) -> None:
    added = memosys.json(
        "add", "--session", "s1", "--session-time", "2024-05-02T10:00:00+00:00",
        input=json.dumps(MESSAGES),
    )
    assert [item["content"] for item in added] == [m["content"] for m in MESSAGES]
    assert {item["session_id"] for item in added} == {"s1"}
    assert added[2]["metadata"] == {"dia_id": "D1:3"}

    hits = memosys.json("search", "Porto job", "--top-k", "2")
    assert len(hits) == 2
    assert "Porto" in hits[0]["item"]["content"]
    assert hits[0]["explain"]["retrievers"]

    bm25 = memosys.json("search", "sister", "--mode", "bm25", "--filter", '{"speaker": "Ana"}')
    assert [hit["item"]["content"] for hit in bm25] == [MESSAGES[2]["content"]]

    listed = memosys.json("list", "--filter", '{"role": "user"}', "--limit", "10")
    assert {item["id"] for item in listed} == {added[0]["id"], added[2]["id"]}

    got = memosys.json("get", added[2]["id"])
    assert got["id"] == added[2]["id"] and got["speaker"] == "Ana"


def test_add_text_update_and_delete(memosys: Memosys) -> None:
    (note,) = memosys.json("add", "--text", "Ana prefers tea over coffee", "--tags", "food")
    assert note["kind"] == "note" and note["tags"] == ["food"]

    updated = memosys.json(
        "update", note["id"], "--content", "Ana prefers green tea", "--tags", "food,drinks",
        "--metadata", '{"source": "cli"}',
    )
    assert updated["content"] == "Ana prefers green tea"
    assert updated["tags"] == ["food", "drinks"]
    assert updated["metadata"] == {"source": "cli"}
    assert updated["version"] == note["version"] + 1

    refused = memosys.run("delete", note["id"], input="n\n")
    assert refused.exit_code == 1
    assert memosys.json("get", note["id"])["id"] == note["id"]

    deleted = memosys.ok("delete", note["id"], "--yes")
    assert note["id"] in deleted.stdout
    assert memosys.run("get", note["id"]).exit_code == 2


def test_update_if_version_refuses_a_memory_that_moved_on(memosys: Memosys) -> None:
    (note,) = memosys.json("add", "--text", "Ana prefers tea over coffee")
    memosys.ok("update", note["id"], "--tags", "food", "--if-version", "1")
    refused = memosys.run("update", note["id"], "--content", "Ana prefers coffee",
                          "--if-version", "1")
    assert refused.exit_code != 0
    assert "is at version 2, not 1" in refused.stderr
    assert memosys.json("get", note["id"])["content"] == "Ana prefers tea over coffee"
    kept = memosys.run("delete", note["id"], "--if-version", "1", "--yes")
    assert kept.exit_code != 0 and "is at version 2, not 1" in kept.stderr
    memosys.ok("delete", note["id"], "--if-version", "2", "--yes")
    assert memosys.run("get", note["id"]).exit_code == 2


def test_add_text_takes_the_session_time_and_refuses_a_session(memosys: Memosys) -> None:
    (note,) = memosys.json("add", "--text", "Ana ran a marathon", "--session-time", "2024-05-02")
    assert note["event_time"] == "2024-05-02T00:00:00Z"
    refused = memosys.run("add", "--text", "Ana ran again", "--session", "s1")
    assert refused.exit_code == 2 and "--session" in refused.output
    assert len(memosys.json("list")) == 1


def test_export_then_import_into_another_user(memosys: Memosys, tmp_path: Path) -> None:
    memosys.ok("add", "--text", "first note", "--text", "second note")
    out = tmp_path / "export.jsonl"
    assert "exported 2" in memosys.ok("export", str(out)).stdout
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(line["content"] for line in lines) == ["first note", "second note"]

    assert "imported 2" in memosys.ok("import", str(out), "--user", "bob").stdout
    imported = memosys.json("list", "--user", "bob")
    assert sorted(item["content"] for item in imported) == ["first note", "second note"]
    assert {item["user_id"] for item in imported} == {"bob"}


def test_add_doc_chunks_under_headings(memosys: Memosys, tmp_path: Path) -> None:
    doc = tmp_path / "guide.md"
    doc.write_text("# Guide\n\n## Bins\n\nGlass goes in the green bin.\n", encoding="utf-8")
    chunks = memosys.json("add-doc", str(doc))
    assert chunks and all(item["kind"] == "chunk" for item in chunks)
    hits = memosys.json("search", "green bin", "--filter", '{"kind": "chunk"}')
    assert "Bins" in hits[0]["item"]["headings"]


def test_stats_reembed_and_tables(memosys: Memosys) -> None:
    memosys.ok("add", "--text", "Ana lives in Porto")
    assert "re-embedded 1" in memosys.ok("reembed").stdout
    stats = memosys.json("stats")
    assert isinstance(stats, dict) and all(isinstance(v, int) for v in stats.values())

    table = memosys.ok("search", "Porto").stdout
    assert "score" in table and "why" in table and "Ana lives in Porto" in table
    assert "Ana lives in Porto" in memosys.ok("list").stdout


def test_user_option_isolates_memories(memosys: Memosys) -> None:
    memosys.ok("--user", "ana", "add", "--text", "Ana's secret recipe")
    assert memosys.json("search", "secret recipe", "--user", "bob") == []
    assert len(memosys.json("search", "secret recipe", "--user", "ana")) == 1


def test_reembed_of_an_unknown_user_names_all_users_and_creates_no_one(memosys: Memosys) -> None:
    memosys.ok("--user", "ana", "add", "--text", "Ana lives in Porto")
    before = memosys.json("stats")["users"]
    refused = memosys.run("reembed")
    assert refused.exit_code != 0
    assert "NotFoundError" in refused.stderr and "--all-users" in refused.stderr
    assert memosys.json("stats")["users"] == before
    assert "re-embedded 1" in memosys.ok("reembed", "--all-users").stdout
    assert "re-embedded 1" in memosys.ok("--user", "ana", "reembed").stdout
