"""The README's commands exist, and its first section is exactly ``make demo`` and ``make test``."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click

from memosys.cli import cli

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _code_lines(text: str) -> list[str]:
    return [
        line.strip() for block in FENCE.findall(text) for line in block.splitlines()
        if line.strip()
    ]


def readme_commands(text: str) -> list[str]:
    """The command names of every ``memosys ...`` line in the code blocks of ``text``."""
    names = []
    for line in _code_lines(text):
        words = shlex.split(line.split(" #", 1)[0])
        if not words or words[0] != "memosys":
            continue
        rest = words[1:]
        while rest and rest[0].startswith("-"):  # global options: --data DIR, --user=U
            rest = rest[1:] if "=" in rest[0] or rest[0] in ("-h", "--help") else rest[2:]
        if rest:
            names.append(rest[0])
    return names


def _registered(name: str) -> bool:
    with click.Context(cli) as ctx:
        return cli.get_command(ctx, name) is not None


def test_readme_commands_parser_finds_commands_after_global_options() -> None:
    sample = (
        "text\n```bash\nmemosys init --data ./d\n"
        "memosys --data ./d --user ana search 'x'  # a comment\nmake demo\n```\n"
    )
    assert readme_commands(sample) == ["init", "search"]


def test_readme_memosys_commands_are_registered() -> None:
    names = readme_commands(README.read_text(encoding="utf-8"))
    missing = [name for name in names if not _registered(name)]
    assert not missing, f"README uses unknown memosys commands: {missing}"


def test_readme_first_section_is_make_demo_and_make_test() -> None:
    text = README.read_text(encoding="utf-8")
    first_section = re.split(r"^## ", text, maxsplit=1, flags=re.MULTILINE)[0]
    blocks = FENCE.findall(first_section)
    assert blocks, "README's first section has no code block"
    commands = [
        line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines()
        if line.split("#", 1)[0].strip()
    ]
    assert commands == ["make demo", "make test"]
