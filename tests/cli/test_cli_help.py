"""Every command exists, has help text, and ``memosys --help`` starts without heavy imports."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from memosys.cli import cli

COMMANDS = [
    "init", "add", "add-doc", "search", "list", "get", "update", "delete",
    "import", "export", "reembed", "stats", "eval",
]


def _command(name: str) -> click.Command:
    with click.Context(cli) as ctx:
        command = cli.get_command(ctx, name)
    assert command is not None, f"memosys {name} is not registered"
    return command


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help_text(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"], prog_name="memosys")
    assert result.exit_code == 0, result.output
    command = _command(name)
    assert (command.help or "").strip(), f"memosys {name} has no help text"
    assert f"Usage: memosys {name}" in result.output


def _leaf_commands(group: click.Group = cli, prefix: str = "") -> list[tuple[str, click.Command]]:
    """Every command under ``group`` (subcommands of groups included), by full name."""
    found = []
    with click.Context(group) as ctx:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None, f"memosys {prefix}{name} is not registered"
            if isinstance(command, click.Group):
                found += _leaf_commands(command, f"{prefix}{name} ")
            else:
                found.append((prefix + name, command))
    return found


def _options(name: str) -> list[click.Option]:
    command = dict(_leaf_commands())[name]
    return [p for p in command.params if isinstance(p, click.Option)]


# eval's options are named after its benchmarks' papers and stay as they are
LEAVES = [name for name, _ in _leaf_commands() if not name.startswith("eval")]


@pytest.mark.parametrize("name", LEAVES)
def test_every_option_has_help_text(name: str) -> None:
    missing = [o.name for o in _options(name) if not (o.help or "").strip()]
    assert not missing, f"options of memosys {name} without help: {missing}"


@pytest.mark.parametrize("name", LEAVES)
def test_every_confirmation_skip_is_y_or_yes(name: str) -> None:
    for option in _options(name):
        if "--yes" in option.opts:
            assert option.opts + option.secondary_opts == ["--yes", "-y"], name


def test_data_user_cube_options_on_group_and_commands() -> None:
    for params in (cli.params, _command("search").params):
        names = {p.name for p in params}
        assert {"data", "user", "cube"} <= names


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from memosys.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('MODULES=' + __import__('json').dumps("
        "[m for m in ('numpy', 'onnxruntime', 'pydantic', 'memosys.api') if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "Commands:" in out
    loaded = json.loads(out.rsplit("MODULES=", 1)[1])
    assert loaded == []
