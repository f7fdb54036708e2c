"""``memosys mcp``: serve memory tools to an MCP client (stdio: one user; http: API keys)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from memosys.cli.options import (
    DEFAULT_USER,
    CliState,
    http_limit_options,
    log_level_option,
    network_options,
    open_memos,
    scope_options,
    state,
)
from memosys.cli.stopping import closed_unbroken, exit_now, sigterm_stops


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
@click.option("--port", default=8766, show_default=True, type=click.IntRange(0, 65535),
              help="HTTP port.")
@http_limit_options
@log_level_option
@network_options
@click.pass_context
def mcp(
    ctx: click.Context, transport: str, host: str, port: int, max_body_mb: int,
    body_timeout_s: float, header_timeout_s: float, log_level: str, trusted_proxies: str | None,
    tls_cert: Path | None, tls_key: Path | None,
) -> None:
    """Run an MCP server with the tools add_memory, search_memory, get_memory,
    delete_memory, forget_memory and list_cubes on the data in --data. Over stdio
    they act as --user. Over http every request but GET /healthz needs
    'Authorization: Bearer <api key>' (the REST API's keys) and acts as that key's
    user. add_memory writes to --cube unless a call names a cube; searches cover all
    the user's cubes. With --tls-cert and --tls-key it serves HTTPS. The data
    directory and user are logged to stderr at start.

    Example client entry: {"command": "memosys", "args": ["mcp", "--data", "DIR", "--user", "ana"]}
    """
    from memosys.api.cubes import checked_user_id
    from memosys.core.context import bind_request
    from memosys.core.errors import InvalidInputError
    from memosys.core.ids import new_id
    from memosys.mcp.server import Transport, serve
    from memosys.server.listen import check_listen
    from memosys.server.settings import ServerSettings
    from memosys.server.tls import tls_context, tls_files, tls_warnings

    current = state(ctx)
    try:
        user = checked_user_id(current.user)
    except InvalidInputError as exc:
        raise click.BadParameter(exc.message, ctx, param_hint="'--user'") from exc
    if transport == "stdio" and (tls_cert or tls_key or trusted_proxies):
        raise click.BadParameter("is for --transport http (stdio has no network)",
                                 param_hint="'--tls-cert' / '--tls-key' / '--trusted-proxies'")
    tls = tls_files(tls_cert, tls_key)
    context = tls_context(*tls) if tls else None
    if transport == "http":
        check_listen(host, port)
    scheme = "https" if tls else "http"
    click.echo(startup_line(current, transport, f"{scheme}://{host}:{port}/mcp"), err=True)
    if transport == "http":
        for warning in tls_warnings(host, tls):
            click.echo(f"warning: {warning}", err=True)
    # the tools act as --user (stdio) or as each request's API key: not as the operator
    ctx.with_resource(bind_request(new_id(), None))
    try:
        with sigterm_stops(), closed_unbroken(open_memos(ctx)) as mos:
            serve(
                mos,
                user,
                cube=current.cube,
                transport=cast(Transport, transport),
                host=host,
                port=port,
                limits=ServerSettings(
                    max_body_bytes=max_body_mb * 1024 * 1024,
                    body_timeout_s=body_timeout_s,
                    header_timeout_s=header_timeout_s,
                    log_level=log_level,
                ),
                tls=context,
                trusted_proxies=trusted_proxies,
            )
    except SystemExit as stop:  # SIGTERM, once the store is closed
        if transport == "stdio":
            # the SDK reads stdin on a thread of its own, blocked in the read: at the
            # interpreter's exit it waited for that thread until the client closed stdin
            exit_now(stop)
        raise


def startup_line(current: CliState, transport: str, url: str) -> str:
    """What the server serves and as whom, for stderr (stdout is the stdio protocol's)."""
    where = f"memosys mcp: data {current.data_dir.absolute()}"
    if transport == "http":
        return f"{where}, at {url}; each request acts as its API key's user"
    default = " (the default; choose one with --user)" if current.user == DEFAULT_USER else ""
    return f"{where}, over stdio as user {current.user!r}{default}"
