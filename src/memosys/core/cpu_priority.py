"""Bulk work yields the CPU to searches.

Threads that embed many texts at once (adds, imports) run at a lower CPU
priority than the threads that answer searches, so on a busy machine a search
does not wait behind an import, while an import alone still gets every idle
core. On Linux a thread's nice value is its own; elsewhere it would change the
whole process, so there the threads keep the process's priority.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

_log = logging.getLogger(__name__)


def lower_thread_priority(niceness: int) -> None:
    """Add ``niceness`` (1-19) to the calling thread's nice value; on Linux only, and
    never an error (a sandbox may forbid it: the thread then keeps its priority)."""
    if niceness <= 0 or sys.platform != "linux":
        return
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(current + niceness, 19))
    except OSError as exc:
        _log.debug("thread priority left unchanged: %s", exc)
