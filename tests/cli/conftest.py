"""Fixtures for CLI tests: a runner bound to a fresh data directory and the shared embedder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from memosys.cli import cli
from memosys.cli.options import CliState


@dataclass
class Memosys:
    """Runs ``memosys --data <tmp> ...`` in-process with the session's embedder."""

    data: Path
    embedder: Any

    def run(self, *args: str, input: str | None = None, columns: int = 200) -> Result:
        """Invoke the CLI (output ``columns`` wide); the result keeps stdout and stderr apart."""
        state = CliState(embedder=self.embedder)
        return CliRunner().invoke(
            cli, ["--data", str(self.data), *args], input=input, obj=state,
            env={"COLUMNS": str(columns)},
        )

    def ok(self, *args: str, input: str | None = None, columns: int = 200) -> Result:
        """Invoke the CLI and fail the test unless it exits 0."""
        result = self.run(*args, input=input, columns=columns)
        assert result.exit_code == 0, (result.output, result.stderr, result.exception)
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        """Invoke a command with ``--json`` and parse its stdout."""
        return json.loads(self.ok(*args, "--json", input=input).stdout)


@pytest.fixture
def memosys(fresh_data_dir: Path, embedder: Any) -> Memosys:
    """The CLI on a new data directory."""
    return Memosys(fresh_data_dir, embedder)
