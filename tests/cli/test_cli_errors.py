"""Errors: a MemosysError prints its name on stderr and exits 2; usage errors are click's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.cli.conftest import Memosys

MISSING_ID = "0190c0de-0000-7000-8000-000000000000"


def test_not_found_exits_2_with_error_name(memosys: Memosys) -> None:
    result = memosys.run("get", MISSING_ID)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: NotFoundError: ")
    assert result.stdout == ""


def test_unknown_filter_field_is_reported(memosys: Memosys) -> None:
    result = memosys.run("list", "--filter", '{"colour": "red"}')
    assert result.exit_code == 2
    assert "error: UnknownFilterFieldError: " in result.stderr


def test_bad_messages_file_is_invalid_input(memosys: Memosys) -> None:
    result = memosys.run("add", input="not json")
    assert result.exit_code == 2
    assert "error: InvalidInputError: stdin is not valid JSON" in result.stderr


def test_bad_json_option_is_a_usage_error(memosys: Memosys) -> None:
    result = memosys.run("search", "x", "--filter", "{kind: chunk}")
    assert result.exit_code == 2
    assert "Invalid value for '--filter'" in result.stderr


def test_console_script_error_has_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "memosys.cli", "--data", str(tmp_path), "get", MISSING_ID],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: NotFoundError: ")
    assert "Traceback" not in result.stderr


def test_a_mistyped_data_directory_is_refused_not_created(memosys: Memosys) -> None:
    mistyped = type(memosys)(memosys.data.parent / "dta", memosys.embedder)
    for command in (("list",), ("audit", "verify"), ("add", "--text", "hi"), ("serve",)):
        result = mistyped.run(*command)
        assert result.exit_code == 2, command
        assert f"no memosys data directory at {mistyped.data}" in result.stderr
        assert "memosys init --data" in result.stderr
    assert not mistyped.data.exists()
    mistyped.ok("init")
    assert mistyped.ok("list").stdout.strip() == "no memories"


def test_an_emptied_database_is_refused_not_started_afresh(memosys: Memosys) -> None:
    memosys.ok("add", "--text", "kept in a backup")
    (memosys.data / "memosys.db").write_bytes(b"")
    for command in (("list",), ("serve", "--no-warm", "--no-jobs")):
        result = memosys.run(*command)
        assert result.exit_code == 2, command
        assert result.stderr.startswith("error: StoreError: the database "), result.stderr
        assert "restore it from a backup" in result.stderr
    assert (memosys.data / "memosys.db").stat().st_size == 0  # nothing written over it


@pytest.mark.parametrize(
    ("command", "start_line"),
    [(("serve", "--no-warm", "--no-jobs"), "memosys serving"),
     (("mcp", "--transport", "http"), "memosys mcp:")],
    ids=["serve", "mcp"],
)
def test_serving_on_a_port_in_use_or_a_foreign_host_says_why_and_what_to_do(
    memosys: Memosys, command: tuple[str, ...], start_line: str
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = memosys.run(*command, "--port", port)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: ConfigurationError: cannot listen on 127.0.0.1:{port}")
    assert "pick another --port" in result.stderr and len(result.stderr.splitlines()) == 1
    assert start_line not in result.stdout + result.stderr  # no start line before it
    # an address no interface of this machine has (TEST-NET-1)
    result = memosys.run(*command, "--host", "192.0.2.1", "--port", "0")
    assert result.exit_code == 2
    assert "192.0.2.1 is not an address of this machine" in result.stderr
