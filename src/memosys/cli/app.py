"""The ``memosys`` command group: registers the commands and turns errors into exit codes.

Each command runs as one request: the audit records it writes share a request
id, made as the server makes one for a request without ``X-Request-ID``, and
name the actor ``@operator`` (whoever holds the data directory; the user a
command acts for is the record's ``detail["user"]``). ``serve`` and ``mcp``
serve others: each of their requests acts as its own principal.
A :class:`~memosys.core.errors.MemosysError` raised by any command prints
``error: <ErrorName>: <message>`` on stderr and exits with code 2, without a
traceback. The ``eval`` command lives in :mod:`memosys.cli.eval_cmd` and is
added only when that module is installed.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import click

from memosys.cli import admin_cmds, memory_cmds
from memosys.cli.options import scope_options

EXIT_MEMOSYS_ERROR = 2
# command name -> module that defines a click command (or group) of that name
_LAZY_COMMANDS = {
    "kv": "memosys.cli.kv_cmds",
    "lora": "memosys.cli.lora_cmds",
    "eval": "memosys.cli.eval_cmd",
    "mcp": "memosys.cli.mcp_cmd",
    "serve": "memosys.cli.serve_cmd",
    "user": "memosys.cli.governance_cmds",
    "key": "memosys.cli.governance_cmds",
    "audit": "memosys.cli.governance_cmds",
    "jobs": "memosys.cli.jobs_cmd",
    "history": "memosys.cli.lifecycle_cmds",
    "rollback": "memosys.cli.lifecycle_cmds",
    "freeze": "memosys.cli.lifecycle_cmds",
    "unfreeze": "memosys.cli.lifecycle_cmds",
    "snapshot": "memosys.cli.lifecycle_cmds",
    "forget": "memosys.cli.lifecycle_cmds",
    "forget-user": "memosys.cli.lifecycle_cmds",
    "verify-forgotten": "memosys.cli.lifecycle_cmds",
}


def _lazy_available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _load_lazy(name: str) -> click.Command | None:
    """The click command called ``name`` in its module, if that module is installed."""
    module = _LAZY_COMMANDS.get(name)
    if module is None or not _lazy_available(module):
        return None
    for value in vars(importlib.import_module(module)).values():
        if isinstance(value, click.Command) and value.name == name:
            return value
    return None


class MemosysGroup(click.Group):
    """A group that reports memosys errors cleanly and loads optional commands lazily."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        lazy = [name for name, module in _LAZY_COMMANDS.items() if _lazy_available(module)]
        return sorted([*super().list_commands(ctx), *lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or _load_lazy(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command as one request of the operator: its audit records share a
        new request id and name the actor ``@operator``."""
        from memosys.core.context import OPERATOR_ACTOR, bind_request
        from memosys.core.errors import MemosysError
        from memosys.core.ids import new_id

        try:
            with bind_request(new_id(), OPERATOR_ACTOR):  # an id like the server's
                return super().invoke(ctx)
        except MemosysError as exc:
            click.echo(f"error: {exc.error_name()}: {exc.message}", err=True)
            ctx.exit(EXIT_MEMOSYS_ERROR)


@click.group(cls=MemosysGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="memosys", prog_name="memosys")
@scope_options
def cli() -> None:
    """memosys: a memory operating system for LLM applications.

    Data lives in --data (default: $MEMOSYS_HOME, else ~/.memosys). Start with
    `memosys init`, then `memosys add`, `memosys search` and `memosys list`.
    """


for _command in [*memory_cmds.COMMANDS, *admin_cmds.COMMANDS]:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point of ``memosys``."""
    cli.main(args=argv, prog_name="memosys")
