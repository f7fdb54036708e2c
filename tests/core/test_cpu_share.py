"""cpu_share: a process's share of the CPUs it may run on."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from memosys.core import cpu_share


def test_processes_that_serve_together_split_the_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_share, "_processes", 1)  # restored after the test
    available = len(os.sched_getaffinity(0))
    assert cpu_share.cpus() == available
    cpu_share.share_with(2)
    assert cpu_share.cpus() == max(1, available // 2)
    cpu_share.share_with(10 * available)
    assert cpu_share.cpus() == 1  # never none


def test_the_share_is_of_the_cpus_this_process_may_run_on() -> None:
    pinned = (  # as under `taskset -c 0`, in a process of its own
        "import os; os.sched_setaffinity(0, {0}); "
        "from memosys.core.cpu_share import cpus; print(cpus())"
    )
    out = subprocess.run([sys.executable, "-c", pinned], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "1"
