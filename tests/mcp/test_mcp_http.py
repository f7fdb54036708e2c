"""The MCP server over streamable HTTP on loopback, driven by the SDK's own client."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp_session import payload, run_async, server_command

from mcp import Client

STARTUP_DEADLINE_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Return once the server answers HTTP at ``url``; fail if it exits or takes too long."""
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the MCP server exited with {process.returncode}: {log.read_text()}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"the MCP server did not answer at {url} within {STARTUP_DEADLINE_S}s")


@pytest.fixture
def http_url(tmp_path: Path) -> Iterator[str]:
    """``memosys mcp --transport http`` for user ana, writing to cube ``notes``."""
    port, log = free_port(), tmp_path / "server.log"
    command = server_command(
        tmp_path / "data", "ana", "--cube", "notes", "--transport", "http", "--port", str(port)
    )
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        wait_until_serving(url, process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_tools_work_over_streamable_http(http_url: str) -> None:
    async def script() -> dict[str, Any]:
        async with Client(http_url) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            added = payload(await client.call_tool("add_memory", {"content": "Standup is at 9"}))
            (item,) = added["items"]
            fetched = payload(await client.call_tool("get_memory", {"id": item["id"]}))
            cubes = payload(await client.call_tool("list_cubes", {}))
            return {"tools": tools, "item": item, "fetched": fetched, "cubes": cubes}

    out = run_async(script)

    assert len(out["tools"]) == 5
    assert out["fetched"]["content"] == "Standup is at 9"
    (cube,) = out["cubes"]["cubes"]
    assert cube["name"] == "notes" and cube["id"] == out["item"]["cube_id"]
