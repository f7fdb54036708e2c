"""The MCP server over stdio, driven by the SDK's own client: every tool, results and errors."""

from __future__ import annotations

import json
import select
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mcp_session import error_text, payload, server_command

from mcp import Client
from memosys.api.local import MemOS
from memosys.cli import cli
from memosys.core.errors import NotFoundError
from memosys.settings import load_settings

TOOLS = {
    "add_memory", "search_memory", "get_memory", "delete_memory", "forget_memory", "list_cubes",
}


def test_lists_the_tools_and_logs_its_data_and_user_to_stderr(
    stdio: Any, tmp_path: Path
) -> None:
    async def script(client: Client) -> Any:
        return (await client.list_tools()).tools

    tools = {tool.name: tool for tool in stdio(script, user=None)}

    assert set(tools) == TOOLS
    assert all(tool.description for tool in tools.values())
    assert tools["search_memory"].input_schema["required"] == ["query"]
    add_schema = tools["add_memory"].input_schema
    assert set(add_schema["properties"]) >= {"content", "messages", "tags"}
    assert "metadata" in add_schema["$defs"]["Message"]["properties"]
    assert add_schema["additionalProperties"] is False
    assert add_schema["$defs"]["Message"]["additionalProperties"] is False
    assert tools["get_memory"].input_schema["required"] == ["id"]
    delete = tools["delete_memory"].description or ""
    assert "for good" not in delete.split("To erase")[0]
    assert "versions are kept" in delete and "forget_memory" in delete
    assert "cannot be restored" in (tools["forget_memory"].description or "")
    log = (tmp_path / "server-stderr.log").read_text()
    assert f"data {tmp_path / 'data'}, over stdio as user 'default' (the default;" in log


@pytest.mark.parametrize("user", ["", "   ", "x" * 201], ids=["empty", "blank", "too long"])
def test_an_invalid_user_is_a_usage_error_before_anything_starts(
    tmp_path: Path, user: str
) -> None:
    data = tmp_path / "data"
    result = CliRunner().invoke(cli, ["mcp", "--data", str(data), "--user", user])

    assert result.exit_code == 2, (result.output, result.exception)
    assert "Invalid value for '--user': user_id must be 1-200 printable characters" in (
        result.stderr
    )
    assert result.stdout == ""
    assert not data.exists()


def test_add_search_get_delete_and_forget_a_memory(
    stdio: Any, tmp_path: Path, embedder: Any
) -> None:
    async def script(client: Client) -> dict[str, Any]:
        added = payload(
            await client.call_tool(
                "add_memory",
                {"content": "Ana drinks green tea every morning", "kind": "preference",
                 "tags": ["drinks"], "metadata": {"source": "chat"}},
            )
        )
        (item,) = added["items"]
        query = {"query": "what tea does Ana drink"}
        found = payload(await client.call_tool("search_memory", query))
        full = payload(await client.call_tool("get_memory", {"id": item["id"]}))
        deleted = payload(await client.call_tool("delete_memory", {"id": item["id"]}))
        after = await client.call_tool("get_memory", {"id": item["id"]})
        (erased,) = payload(await client.call_tool("add_memory", {"content": "Ana's PIN is 1234"}))[
            "items"
        ]
        forgotten = payload(await client.call_tool("forget_memory", {"id": erased["id"]}))
        after_forget = await client.call_tool("get_memory", {"id": erased["id"]})
        return {"item": item, "found": found, "full": full, "deleted": deleted, "after": after,
                "erased": erased, "forgotten": forgotten, "after_forget": after_forget}

    out = stdio(script)

    item = out["item"]
    assert item["content"] == "Ana drinks green tea every morning"
    assert item["kind"] == "preference" and item["tags"] == ["drinks"]
    top = out["found"]["hits"][0]
    assert top["id"] == item["id"] and top["score"] > 0 and "dense" in top["why"]
    assert out["full"]["metadata"] == {"source": "chat"}
    assert out["full"]["user_id"] == "ana" and out["full"]["version"] == 1
    assert out["deleted"] == {"deleted": item["id"]}
    assert "NotFoundError" in error_text(out["after"])
    erased = out["erased"]["id"]
    assert out["forgotten"] == {"forgotten": erased}
    assert "NotFoundError" in error_text(out["after_forget"])
    with MemOS.open(tmp_path / "data", embedder=embedder) as mos:
        # delete_memory kept the versions (it can be rolled back); forget_memory erased them
        first, *_ = mos.history(item["id"], user_id="ana")
        assert first.item.content == "Ana drinks green tea every morning"
        # the tools act as --user, not as the operator who started the server
        assert first.changed_by == "ana"
        (added,) = mos.audit_log(user_id="ana", item_id=item["id"], action="memory.add")
        assert added.actor == "ana" and "user" not in added.detail
        with pytest.raises(NotFoundError):
            mos.history(erased, user_id="ana")
        assert mos.verify_forgotten(ids=[erased], texts=["Ana's PIN is 1234"]).leftovers == []


def test_messages_are_stored_in_their_session_and_cubes_are_listed(stdio: Any) -> None:
    messages = [
        {"role": "user", "content": "I am moving to Lisbon in May", "name": "Ana",
         "metadata": {"mood": "excited"}},
        {"role": "assistant", "content": "Exciting! Do you need help with the move?"},
    ]

    async def script(client: Client) -> dict[str, Any]:
        added = payload(
            await client.call_tool(
                "add_memory", {"messages": messages, "cube": "travel", "session_id": "s1"}
            )
        )
        cubes = payload(await client.call_tool("list_cubes", {}))
        first = added["items"][0]["id"]
        full = payload(await client.call_tool("get_memory", {"id": first}))
        scoped = payload(
            await client.call_tool("search_memory", {"query": "Lisbon", "cube": "travel",
                                                     "filters": {"role": "user"}, "mode": "bm25"})
        )
        return {"added": added, "cubes": cubes, "scoped": scoped, "full": full}

    out = stdio(script)

    items = out["added"]["items"]
    assert [i["session_id"] for i in items] == ["s1", "s1"]
    assert items[0]["speaker"] == "Ana"
    assert out["full"]["metadata"] == {"mood": "excited"}
    (cube,) = out["cubes"]["cubes"]
    assert cube["name"] == "travel" and cube["owner"] == "ana"
    assert {i["cube_id"] for i in items} == {cube["id"]}
    assert [hit["id"] for hit in out["scoped"]["hits"]] == [items[0]["id"]]


def test_bad_input_and_missing_ids_give_clear_error_results(
    stdio: Any, tmp_path: Path, embedder: Any
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_memory", {"id": "no-such-id"}),
        ("delete_memory", {"id": "no-such-id"}),
        ("add_memory", {}),
        ("add_memory", {"content": "x", "messages": [{"role": "user", "content": "y"}]}),
        ("add_memory", {"content": "   "}),
        ("search_memory", {"query": "tea", "top_k": 0}),
        ("add_memory", {"content": "x", "cube": ""}),
        ("add_memory", {"content": "x", "foo": 1}),
        ("add_memory", {"messages": [{"role": "user", "content": "y", "meta": {}}]}),
        ("list_cubes", {"user_id": "bob"}),
        ("search_memory", {"query": "tea", "filters": {"no_such_field": 1}}),
        ("search_memory", {"query": "tea", "cube": "missing-cube"}),
        ("get_memory", {}),
        ("no_such_tool", {}),
    ]

    async def script(client: Client) -> list[str]:
        texts = [error_text(await client.call_tool(name, args)) for name, args in calls]
        payload(await client.call_tool("list_cubes", {}))  # still serving after the errors
        return texts

    texts = dict(zip([f"{n} {a}" for n, a in calls], stdio(script), strict=True))

    expected = [
        "NotFoundError: memory 'no-such-id' not found",
        "NotFoundError: memory 'no-such-id' not found",
        "InvalidInputError: give exactly one of `content`",
        "InvalidInputError: give exactly one of `content`",
        "EmptyInputError",
        "InvalidInputError: invalid arguments: top_k: Input should be greater than or equal to 1",
        "InvalidInputError: cube must be 1-200 printable characters, got ''",
        "InvalidInputError: invalid arguments: foo: Extra inputs are not permitted",
        "InvalidInputError: invalid arguments: messages.0.meta: Extra inputs are not permitted",
        "InvalidInputError: invalid arguments: user_id: Extra inputs are not permitted",
        "UnknownFilterFieldError",
        "NotFoundError: cube 'missing-cube' not found",
        "InvalidInputError: invalid arguments: id: Field required",
        "no_such_tool",
    ]
    for (call, text), fragment in zip(texts.items(), expected, strict=True):
        assert fragment in text, (call, text)
        assert "pydantic" not in text, (call, text)
    with MemOS.open(tmp_path / "data", embedder=embedder) as mos:
        assert mos.count(user_id="ana") == 0


def test_acts_only_for_its_own_user(stdio: Any, tmp_path: Path, embedder: Any) -> None:
    with MemOS.open(tmp_path / "data", embedder=embedder) as mos:
        (secret,) = mos.add_texts(["Bob's locker code is 4711"], user_id="bob")

    async def script(client: Client) -> dict[str, Any]:
        return {
            "get": await client.call_tool("get_memory", {"id": secret.id}),
            "delete": await client.call_tool("delete_memory", {"id": secret.id}),
            "search": payload(await client.call_tool("search_memory", {"query": "locker code"})),
            "cubes": payload(await client.call_tool("list_cubes", {})),
        }

    out = stdio(script, user="ana")

    assert "NotFoundError" in error_text(out["get"])
    assert "NotFoundError" in error_text(out["delete"])
    assert out["search"] == {"hits": []}
    assert out["cubes"] == {"cubes": []}
    with MemOS.open(tmp_path / "data", embedder=embedder) as mos:
        assert mos.get(secret.id, user_id="bob").content == "Bob's locker code is 4711"


def test_sigterm_closes_the_store_and_exits_0(tmp_path: Path) -> None:
    """A client (or process manager) may end the server with SIGTERM instead of closing
    its stdin: the store is still closed, and the process does not hang."""
    data, log = tmp_path / "data", tmp_path / "server.log"
    MemOS.open(data, settings=load_settings(embedder={"provider": "hash"})).close()
    initialize = {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "0"}},
    }
    with log.open("wb") as sink, subprocess.Popen(
        server_command(data, "nobody"),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sink,
    ) as process:
        try:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps(initialize).encode() + b"\n")
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], 60)
            assert ready, f"no answer to initialize: {log.read_text()}"
            assert json.loads(process.stdout.readline())["id"] == 1
            process.send_signal(signal.SIGTERM)  # stdin stays open
            assert process.wait(timeout=30) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
    # the store was closed: its last connection checkpointed and removed the WAL
    assert not (data / "memosys.db-wal").exists()
