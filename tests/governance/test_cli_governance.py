"""The user, key, audit and init commands on a real data directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from memosys import MemOS
from memosys.cli import cli
from memosys.cli.options import CliState


@pytest.fixture
def run(fresh_data_dir: Path, embedder: Any) -> Any:
    def _run(*args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(
            cli, ["--data", str(fresh_data_dir), *args], obj=CliState(embedder=embedder),
            env={"COLUMNS": "200"},
        )
        assert result.exit_code == code, (result.output, result.exception)
        return result

    return _run


def _authenticate(data_dir: Path, embedder: Any, api_key: str) -> Any:
    with MemOS.open(data_dir, embedder=embedder) as mos:
        return mos.authenticate(api_key)


def test_init_prints_the_admin_key_once(run: Any, data_dir: Path, embedder: Any) -> None:
    first = run("init").output
    api_key = first.strip().splitlines()[-1]
    assert api_key.startswith("msk_") and "shown once" in first
    principal = _authenticate(data_dir, embedder, api_key)
    assert (principal.user_id, principal.admin) == ("admin", True)
    again = run("init").output
    assert "already initialised" in again and "msk_" not in again


def test_user_add_json_prints_a_working_key(run: Any, data_dir: Path, embedder: Any) -> None:
    created = json.loads(run("user", "add", "ana", "--json").output)
    assert created["user_id"] == "ana" and created["api_key"].startswith("msk_")
    assert _authenticate(data_dir, embedder, created["api_key"]).user_id == "ana"
    boss = json.loads(run("user", "add", "boss", "--admin", "--json").output)
    assert _authenticate(data_dir, embedder, boss["api_key"]).admin
    failed = run("user", "add", "ana", code=2)
    assert "ConflictError" in failed.stderr


def test_key_create_list_revoke(run: Any, data_dir: Path, embedder: Any) -> None:
    run("user", "add", "ana")
    made = json.loads(run("key", "create", "--user", "ana", "--name", "ci", "--json").output)
    listed = json.loads(run("key", "list", "--user", "ana", "--json").output)
    assert [k["name"] for k in listed] == ["first key", "ci"]
    assert all("api_key" not in k and made["api_key"] not in json.dumps(k) for k in listed)
    table = run("key", "list", "--user", "ana").output
    assert made["key_id"] in table and "ci" in table
    assert "revoked API key" in run("key", "revoke", made["key_id"], "--user", "ana").output
    listed = json.loads(run("key", "list", "--user", "ana", "--json").output)
    assert listed[1]["revoked_at"] is not None
    assert "NotFoundError" in run("key", "revoke", made["key_id"], "--user", "bob", code=2).stderr


def test_audit_list_filters_and_shows_every_record(run: Any) -> None:
    run("user", "add", "ana")
    run("--user", "ana", "cube", "create", "notes")
    records = json.loads(run("audit", "list", "--json").output)
    assert [r["action"] for r in records] == ["cube.create", "key.create", "user.create"]
    only = json.loads(run("audit", "list", "--action", "key.create", "--json").output)
    assert [(r["actor"], r["detail"]["user"]) for r in only] == [("@operator", "ana")]
    by_cube = json.loads(run("audit", "list", "--user", "ana", "--cube", "notes", "--json").output)
    assert [r["action"] for r in by_cube] == ["cube.create"]
    assert len(json.loads(run("audit", "list", "--limit", "1", "--json").output)) == 1
    older = json.loads(run("audit", "list", "--before", str(records[0]["seq"]), "--json").output)
    assert older == records[1:]
    table = run("audit", "list").output
    assert "cube.create" in table and "ana" in table


def test_audit_verify_json(run: Any) -> None:
    run("user", "add", "ana")
    verdict = json.loads(run("audit", "verify", "--json").output)
    assert verdict == {"ok": True, "records": 2, "first_bad_seq": None, "reason": None}
