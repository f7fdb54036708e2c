"""The jobs framework: recorded runs, resume after SIGKILL, one live runner at a time, CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from memosys.api.local import MemOS
from memosys.cli.app import cli
from memosys.core.clock import FixedClock
from memosys.core.errors import ConflictError, InvalidInputError, NotFoundError
from memosys.core.items import LifecycleState
from memosys.lifecycle.upkeep import upkeep_of
from memosys.settings import load_settings

OLD = datetime(2020, 1, 1, tzinfo=UTC)
ITEMS = 60
BATCH = 4
KILL_AFTER_STEPS = 5

# A job process that SIGKILLs itself right after its KILL_AFTER_STEPS-th committed step.
_CHILD = """
import os, signal, sys
from memosys.api.local import MemOS
mos = MemOS.open(sys.argv[1])
steps = []
def crash(change):
    steps.append(change)
    if len(steps) == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
mos.events.subscribe(crash)
mos.run_job("decay")
"""


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data directory with ITEMS old memories, a few of them too important to fade."""
    settings = load_settings(
        embedder={"provider": "hash"}, lifecycle={"archive_below": 0.5, "job_batch": BATCH}
    )
    with MemOS.open(tmp_path, settings=settings, clock=FixedClock(OLD)) as mos:
        items = mos.add_texts([f"Errand number {n} is done." for n in range(ITEMS)], user_id="ann")
        for item in items[::10]:
            mos.update(item.id, user_id="ann", importance=1.0)
    return tmp_path


@pytest.fixture
def mos(data: Path) -> Iterator[MemOS]:
    with MemOS.open(data) as opened:
        yield opened


def _states(mos: MemOS) -> dict[str, LifecycleState]:
    items = mos.list(user_id="ann", filters={"state": {"$ne": "deleted"}}, limit=1000)
    return {item.id: item.state for item in items}


def test_a_job_killed_halfway_leaves_whole_steps_and_resumes(data: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(data), str(KILL_AFTER_STEPS)], capture_output=True
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()

    with MemOS.open(data) as mos:
        (run,) = mos.job_runs("decay")
        assert run.status == "running" and run.cursor is not None
        states = _states(mos)
        archived = [i for i, s in states.items() if s is LifecycleState.ARCHIVED]
        # exactly the committed steps are applied, and the ledger knows how many
        assert len(archived) == run.cursor["archived"] > 0
        assert len(archived) < ITEMS - ITEMS // 10
        assert run.progress == KILL_AFTER_STEPS * BATCH
        for item_id in archived:
            history = mos.history(item_id, user_id="ann")
            assert [v.version for v in history] == [1, 2]

        resumed = mos.run_job("decay")

        assert resumed.id == run.id and resumed.status == "succeeded"
        assert resumed.result == {"archived": ITEMS - ITEMS // 10, "threshold": 0.5}
        states = _states(mos)
        assert sum(s is LifecycleState.ARCHIVED for s in states.values()) == ITEMS - ITEMS // 10
        assert sum(s is LifecycleState.GENERATED for s in states.values()) == ITEMS // 10


def test_a_run_held_by_a_live_process_is_not_run_twice(mos: MemOS) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    ) as holder:
        try:
            run = upkeep_of(mos.store).start_run("decay", {}, holder.pid, datetime.now(UTC))
            with pytest.raises(ConflictError, match=f"process {holder.pid}"):
                mos.run_job("decay")
        finally:
            holder.kill()
    assert mos.run_job("decay").id == run.id  # the holder died: its run is taken over


def test_a_failing_run_is_recorded_and_the_next_starts_afresh(mos: MemOS) -> None:
    with pytest.raises(InvalidInputError, match="archive_below"):
        mos.run_job("decay", params={"archive_below": "high"})
    (failed,) = mos.job_runs("decay")
    assert failed.status == "failed" and "archive_below" in (failed.error or "")
    again = mos.run_job("decay", params={"archive_below": 0.5})
    assert again.id != failed.id and again.status == "succeeded"
    assert [r.id for r in mos.job_runs("decay")] == [again.id, failed.id]


def test_unknown_jobs_and_bad_arguments_get_clear_errors(mos: MemOS) -> None:
    known = "known jobs: caps, decay, dedup, supersede, ttl-purge"
    with pytest.raises(NotFoundError, match=known):
        mos.run_job("vacuum")
    with pytest.raises(InvalidInputError):
        mos.run_job("decay", params=["archive_below"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"takes no parameter 'bogus' \(it takes: arch"):
        mos.run_job("decay", params={"bogus": 1})
    with pytest.raises(InvalidInputError, match="it takes: none"):
        mos.run_job("caps", params={"max_items": 2})
    assert not mos.job_runs()  # refused before any run was recorded
    with pytest.raises(InvalidInputError):
        mos.job_runs(limit=0)
    names = {info.name for info in mos.jobs()}
    assert names == {"caps", "decay", "dedup", "supersede", "ttl-purge"}


def test_the_cli_lists_runs_and_reports_jobs(data: Path) -> None:
    runner = CliRunner()
    ran = runner.invoke(cli, ["jobs", "run", "decay", "--data", str(data), "--json"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.output)["result"]["archived"] == ITEMS - ITEMS // 10

    listed = runner.invoke(cli, ["jobs", "list", "--data", str(data), "--json"])
    by_name = {job["name"]: job for job in json.loads(listed.output)}
    assert by_name["decay"]["last_run"]["status"] == "succeeded"
    assert by_name["ttl-purge"]["last_run"] is None

    status = runner.invoke(cli, ["jobs", "status", "decay", "--data", str(data)])
    assert status.exit_code == 0 and "succeeded" in status.output

    custom = runner.invoke(cli, ["jobs", "run", "decay", "--data", str(data),
                                 "--params", '{"archive_below": 0.9}'])
    assert custom.exit_code == 0 and "decay run 2: succeeded" in custom.output

    bad = runner.invoke(cli, ["jobs", "run", "decay", "--data", str(data), "--params", "{oops"])
    assert bad.exit_code == 2 and "not valid JSON" in bad.output

    missing = runner.invoke(cli, ["jobs", "run", "nope", "--data", str(data)])
    assert missing.exit_code == 2 and "known jobs" in missing.output


def test_watch_runs_the_jobs_in_rounds(data: Path) -> None:
    runner = CliRunner()
    watched = runner.invoke(cli, ["jobs", "watch", "ttl-purge", "decay", "--every", "0",
                                  "--rounds", "2", "--data", str(data)])
    assert watched.exit_code == 0, watched.output
    assert watched.output.count("ttl-purge run") == 2 and watched.output.count("decay run") == 2
    with MemOS.open(data) as mos:
        assert [r.status for r in mos.job_runs("decay")] == ["succeeded", "succeeded"]
    unknown = runner.invoke(cli, ["jobs", "watch", "vacuum", "--rounds", "1", "--data", str(data)])
    assert unknown.exit_code == 2 and "unknown job(s): vacuum" in unknown.output
