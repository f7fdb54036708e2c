"""`memosys serve` runs the scheduled jobs; two servers on one data directory take turns.

Two real server processes share one data directory whose settings run
``ttl-purge`` every EVERY_S seconds. The job ledger must show runs that never
overlap and never follow each other sooner than the interval: each due run
was claimed by exactly one of the servers.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.server.test_kill import Server

from memosys import MemOS
from memosys.lifecycle.upkeep import upkeep_of
from memosys.settings import load_settings

EVERY_S = 0.3
RUNS = 8
DEADLINE_S = 120.0


def test_two_servers_on_one_data_dir_run_each_due_job_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = load_settings(embedder={"provider": "hash"},
                             lifecycle={"schedule": {"ttl-purge": EVERY_S}})
    with MemOS.open(data, settings=settings) as mos:
        (item,) = mos.add_texts(["The guest wifi password expires."], user_id="ann")
        mos.set_expiry(item.id, user_id="ann", expires_at=datetime.now(UTC) - timedelta(hours=1))

    servers: list[Server] = []
    try:
        for n in range(2):  # one by one: if the second does not start, the first is stopped
            servers.append(Server(data, tmp_path / f"server{n}.log"))
        with MemOS.open(data) as mos:
            deadline = time.monotonic() + DEADLINE_S
            while len(runs := mos.job_runs("ttl-purge", limit=100)) < RUNS:
                assert time.monotonic() < deadline, f"only {len(runs)} runs"
                time.sleep(0.05)  # the servers run the job: poll the ledger
            assert upkeep_of(mos.store).scan(0, 10) == []  # the expired memory is purged
    finally:
        for server in servers:
            server.stop()

    with MemOS.open(data) as mos:
        runs = list(reversed(mos.job_runs("ttl-purge", limit=100)))
    assert all(run.status == "succeeded" for run in runs), runs
    assert {run.pid for run in runs} <= {server.process.pid for server in servers}
    assert sum((run.result or {}).get("purged", 0) for run in runs) == 1
    for before, after in zip(runs, runs[1:], strict=False):
        assert before.finished_at is not None
        assert after.started_at >= before.finished_at + timedelta(seconds=EVERY_S)
