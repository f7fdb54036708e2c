"""Run ``python -m memosys mcp`` as a subprocess and talk to it with the SDK's own client."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import anyio
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, TextContent

from mcp import Client, StdioServerParameters

T = TypeVar("T")
Script = Callable[[Client], Awaitable[T]]


def server_command(data: Path, user: str | None, *extra: str) -> list[str]:
    """The command line that starts the MCP server for ``user`` (None: no --user) on ``data``."""
    as_user = [] if user is None else ["--user", user]
    return [sys.executable, "-m", "memosys", "mcp", "--data", str(data), *as_user, *extra]


def run_stdio(data: Path, user: str | None, script: Script[T], errlog: Path) -> T:
    """Start the server over stdio, run ``script`` with a connected client, stop the server.

    The server's stderr goes to ``errlog`` (pytest's captured stderr has no file descriptor).
    """
    command, *args = server_command(data, user)
    # the SDK passes on only a few variables by default; keep PYTHONPATH and MEMOSYS_* too
    params = StdioServerParameters(command=command, args=args, env=dict(os.environ))

    async def main() -> T:
        with errlog.open("a", encoding="utf-8") as log:
            async with Client(stdio_client(params, errlog=log)) as client:
                return await script(client)

    return run_async(main)


def run_async(main: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine function to completion in a fresh thread.

    A thread of its own keeps it apart from any event loop a fixture left running in
    the test thread (Playwright's sync API does that for the dashboard tests).
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, main).result()


def payload(result: CallToolResult) -> dict[str, Any]:
    """The structured result of a successful tool call (checked against its text form)."""
    assert not result.is_error, result.content
    assert result.structured_content is not None
    (block,) = result.content
    assert isinstance(block, TextContent)
    assert json.loads(block.text) == result.structured_content
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    """The message of a tool call that failed as an error result."""
    assert result.is_error, result.structured_content
    (block,) = result.content
    assert isinstance(block, TextContent)
    return block.text
