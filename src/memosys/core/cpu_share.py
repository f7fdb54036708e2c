"""The CPUs this process counts on when it sizes its thread pools.

Those it may run on (its affinity set, so a container's or ``taskset``'s
limit counts), divided among the processes that serve together: with
``memosys serve --workers N`` each worker declares N, so N processes' search
turns, embedding threads and HNSW insert threads do not add up to N times
the cores (on 16 cores, 8 workers with 16 embedding threads each made the
searches of a mixed load queue behind 128 threads; see the README).
"""

from __future__ import annotations

import os

_processes = 1


def share_with(processes: int) -> None:
    """Declare that ``processes`` processes (this one included) share this machine's CPUs."""
    global _processes
    _processes = max(1, processes)


def cpus() -> int:
    """This process's share of the CPUs it may run on (at least 1)."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, available // _processes)
