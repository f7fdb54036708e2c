"""The job scheduler: jobs run on their interval in a background thread, survive errors,
stop cleanly and resume, and two servers on one data directory never run a job twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from memosys.api.local import MemOS
from memosys.cli.app import cli
from memosys.core.clock import FixedClock
from memosys.core.errors import ConfigurationError, ConflictError, StoreError
from memosys.lifecycle.jobs import JobContext, register, unregister
from memosys.lifecycle.upkeep import ItemChanges, upkeep_of
from memosys.settings import MemosysSettings, load_settings

WAIT_S = 60.0  # generous: the test machine is shared
OLD = datetime(2020, 1, 1, tzinfo=UTC)


def _settings(schedule: dict[str, float | None], **lifecycle: Any) -> MemosysSettings:
    return load_settings(embedder={"provider": "hash"},
                         lifecycle={"schedule": schedule, **lifecycle})


class FlakyJob:
    """Fails with a memosys error, then with a bug, then succeeds."""

    name = "flaky"
    params = ()
    description = "fails twice, then succeeds"

    def __init__(self) -> None:
        self.calls = 0

    def run(self, ctx: JobContext) -> dict[str, Any]:
        self.calls += 1
        if self.calls == 1:
            raise StoreError("the disk is full")
        if self.calls == 2:
            raise ValueError("a bug")
        return {"calls": self.calls}


class SteppingJob:
    """Commits STEPS empty steps; in its first run it waits for ``release`` after step 3."""

    name = "stepping"
    params = ()
    description = "commits steps, one may wait"
    STEPS = 10

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def run(self, ctx: JobContext) -> dict[str, Any]:
        step = int(ctx.cursor.get("step", 0))
        while step < self.STEPS:
            step += 1
            ctx.commit(ItemChanges(), {"step": step}, step)
            if step == 3 and not self.reached.is_set():
                self.reached.set()
                self.release.wait(WAIT_S)
        return {"steps": step}


def _state(mos: MemOS, name: str) -> str:
    return {info.name: info.state for info in mos.jobs()}[name]


@pytest.fixture
def registered_job(request: pytest.FixtureRequest) -> Iterator[Any]:
    job = request.param()
    register(job)
    yield job
    unregister(job.name)


def test_scheduled_jobs_run_on_their_interval_in_the_background(tmp_path: Path) -> None:
    every = 0.2
    with MemOS.open(tmp_path, settings=_settings({"ttl-purge": every}),
                    background_jobs=True) as mos:
        scheduler = mos.scheduler
        assert scheduler is not None and scheduler.running
        assert scheduler.intervals == {"ttl-purge": every}
        (item,) = mos.add_texts(["The parking permit runs out today."], user_id="ann")
        mos.set_expiry(item.id, user_id="ann", expires_at=datetime.now(UTC) - timedelta(hours=1))

        assert scheduler.wait_for(
            lambda s: any((r.result or {}).get("purged") == 1 for r in s.finished)
            and len(s.finished) >= 3,
            WAIT_S,
        ), scheduler.errors
        mos.stop_jobs()  # the ledger holds still for the checks
        assert not scheduler.running

        assert upkeep_of(mos.store).scan(0, 10) == []  # purged for good, by the thread
        runs = list(reversed(mos.job_runs("ttl-purge")))
        assert all(r.status == "succeeded" for r in runs)
        for before, after in zip(runs, runs[1:], strict=False):
            assert before.finished_at is not None
            assert after.started_at >= before.finished_at + timedelta(seconds=every)
        info = {i.name: i for i in mos.jobs()}
        assert info["ttl-purge"].every_s == every
        assert info["ttl-purge"].next_run_at == runs[-1].finished_at + timedelta(seconds=every)
        assert info["dedup"].every_s is None and info["dedup"].next_run_at is None


@pytest.mark.parametrize("registered_job", [FlakyJob], indirect=True)
def test_errors_are_recorded_and_do_not_stop_the_scheduler(
    tmp_path: Path, registered_job: FlakyJob
) -> None:
    with MemOS.open(tmp_path, settings=_settings({"flaky": 0.05}), background_jobs=True) as mos:
        scheduler = mos.scheduler
        assert scheduler is not None
        assert scheduler.wait_for(lambda s: len(s.finished) >= 1, WAIT_S), scheduler.errors
        assert scheduler.running
    assert not scheduler.running  # close stopped it
    with MemOS.open(tmp_path) as mos:
        statuses = [(r.status, r.error) for r in reversed(mos.job_runs("flaky"))]
        assert statuses[:3] == [
            ("failed", "StoreError: the disk is full"),
            ("failed", "ValueError: a bug"),
            ("succeeded", None),
        ]
        assert list(scheduler.errors) == [
            "flaky: StoreError: the disk is full", "flaky: ValueError: a bug"
        ]


@pytest.mark.parametrize("registered_job", [SteppingJob], indirect=True)
def test_stop_ends_a_job_after_its_step_and_the_next_scheduler_resumes_it(
    tmp_path: Path, registered_job: SteppingJob
) -> None:
    settings = _settings({"stepping": 3600.0})
    with MemOS.open(tmp_path, settings=settings, background_jobs=True) as mos:
        scheduler = mos.scheduler
        assert scheduler is not None
        assert registered_job.reached.wait(WAIT_S)
        with pytest.raises(ConflictError, match="already running in this process"):
            mos.run_job("stepping")  # the scheduler's thread holds it
        assert _state(mos, "stepping") == "running"
        scheduler.stop(wait=False)
        registered_job.release.set()
        mos.stop_jobs()
        assert not scheduler.running
        (left,) = mos.job_runs("stepping")
        assert (left.status, left.pid, left.cursor) == ("running", None, {"step": 4})
        assert _state(mos, "stepping") == "interrupted"

    with MemOS.open(tmp_path, background_jobs=True) as mos:
        scheduler = mos.scheduler
        assert scheduler is not None
        assert scheduler.wait_for(lambda s: len(s.finished) == 1, WAIT_S), scheduler.errors
        (resumed,) = mos.job_runs("stepping")
        assert resumed.id == left.id and resumed.status == "succeeded"
        assert resumed.result == {"steps": SteppingJob.STEPS}
        assert _state(mos, "stepping") == "idle"


# A process that runs the decay job from its scheduler and SIGKILLs itself after 2 steps.
_CRASHING_SCHEDULER = """
import os, signal, sys
from memosys.api.local import MemOS
steps = []
def crash(change):
    steps.append(change)
    if len(steps) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
mos = MemOS.open(sys.argv[1])
mos.events.subscribe(crash)
mos.start_jobs()
signal.pause()
"""


def test_a_run_left_by_a_crashed_scheduler_is_resumed(tmp_path: Path) -> None:
    settings = _settings({"decay": 3600.0}, archive_below=0.5, job_batch=2)
    with MemOS.open(tmp_path, settings=settings, clock=FixedClock(OLD)) as mos:
        mos.add_texts([f"Chore {n} is done." for n in range(10)], user_id="ann")
    child = subprocess.run([sys.executable, "-c", _CRASHING_SCHEDULER, str(tmp_path)],
                           capture_output=True, timeout=WAIT_S)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    with MemOS.open(tmp_path) as mos:
        (crashed,) = mos.job_runs("decay")
        assert crashed.status == "running" and crashed.progress == 4
        assert _state(mos, "decay") == "interrupted"  # its process is gone

    with MemOS.open(tmp_path, background_jobs=True) as mos:
        scheduler = mos.scheduler
        assert scheduler is not None
        assert scheduler.wait_for(lambda s: len(s.finished) == 1, WAIT_S), scheduler.errors
        (resumed,) = mos.job_runs("decay")
        assert resumed.id == crashed.id and resumed.status == "succeeded"
        assert resumed.result == {"archived": 10, "threshold": 0.5}


def test_unknown_scheduled_jobs_and_a_second_start_are_refused(tmp_path: Path) -> None:
    with MemOS.open(tmp_path, settings=_settings({"vacuum": 60.0})) as mos:
        with pytest.raises(ConfigurationError, match="unknown job.*vacuum"):
            mos.start_jobs()
        assert mos.scheduler is None
    with pytest.raises(ConfigurationError, match="invalid settings"):
        _settings({"decay": -1.0})
    with MemOS.open(tmp_path, settings=_settings({"decay": 0, "caps": None}),
                    background_jobs=True) as mos:
        scheduler = mos.scheduler
        assert scheduler is not None and scheduler.intervals == {}
        with pytest.raises(ConflictError, match="already running"):
            mos.start_jobs()


def test_the_cli_shows_each_jobs_interval_and_next_run(tmp_path: Path) -> None:
    with MemOS.open(tmp_path, settings=_settings({"ttl-purge": 60.0})) as mos:
        ran = mos.run_job("ttl-purge")
    runner = CliRunner()
    listed = runner.invoke(cli, ["jobs", "list", "--data", str(tmp_path), "--json"])
    assert listed.exit_code == 0, listed.output
    by_name = {job["name"]: job for job in json.loads(listed.output)}
    assert by_name["ttl-purge"]["every_s"] == 60.0
    assert ran.finished_at is not None
    due = ran.finished_at + timedelta(seconds=60)
    assert datetime.fromisoformat(by_name["ttl-purge"]["next_run_at"]) == due
    assert by_name["dedup"]["every_s"] is None
    table = runner.invoke(cli, ["jobs", "list", "--data", str(tmp_path)])
    assert table.exit_code == 0 and "60 s" in table.output and "on request" in table.output

