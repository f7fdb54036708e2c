"""``memosys mcp``: serve memory tools to an MCP client (stdio: one user; http: API keys)."""

from __future__ import annotations

from typing import cast

import click

from memosys.cli.options import open_memos, scope_options, state


@click.command()
@scope_options
@click.option(
    "--transport",
    type=click.Choice(["stdio", "http"]),
    default="stdio",
    show_default=True,
    help="stdio for a client that starts this process; http for streamable HTTP at /mcp.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP address to bind.")
@click.option("--port", type=int, default=8766, show_default=True, help="HTTP port.")
@click.pass_context
def mcp(ctx: click.Context, transport: str, host: str, port: int) -> None:
    """Run an MCP server with the tools add_memory, search_memory, get_memory,
    delete_memory, forget_memory and list_cubes on the data in --data. Over stdio
    they act as --user. Over http every request needs 'Authorization: Bearer <api
    key>' (the REST API's keys) and acts as that key's user. add_memory writes to
    --cube unless a call names a cube; searches cover all the user's cubes.

    Example client entry: {"command": "memosys", "args": ["mcp", "--data", "DIR", "--user", "ana"]}
    """
    from memosys.mcp.server import Transport, serve

    with open_memos(ctx) as mos:
        current = state(ctx)
        serve(
            mos,
            current.user,
            cube=current.cube,
            transport=cast(Transport, transport),
            host=host,
            port=port,
        )
