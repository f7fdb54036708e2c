"""Fixtures for the MCP tests: a server subprocess on a fresh data directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from mcp_session import Script, run_stdio

T = TypeVar("T")


@pytest.fixture
def stdio(fresh_data_dir: Path, tmp_path: Path) -> Callable[..., Any]:
    """``stdio(script, user="ana")`` runs ``script(client)`` on a server over ``tmp_path/data``
    (``user=None``: without --user); the server's stderr goes to ``tmp_path/server-stderr.log``."""
    errlog = tmp_path / "server-stderr.log"

    def run(script: Script[T], user: str | None = "ana") -> T:
        return run_stdio(fresh_data_dir, user, script, errlog)

    return run
