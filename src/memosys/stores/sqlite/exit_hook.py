"""Background threads that run native code are halted before the interpreter shuts down.

Native code (an HNSW build or insert) still running in a daemon thread while
the interpreter finalizes aborts the process ("terminate called without an
active exception"). So the objects that start such threads register here,
and one exit hook halts them all, each between two steps of its work.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from typing import Protocol


class Haltable(Protocol):
    """What owns such a thread: :meth:`halt` stops it soon and waits for it."""

    def halt(self) -> None:
        """Stop the thread at its next step and wait for it."""
        ...


_registered: weakref.WeakSet[Haltable] = weakref.WeakSet()
_lock = threading.Lock()
_installed = False


def halt_at_exit(owner: Haltable) -> None:
    """Halt ``owner``'s thread when the process exits (while ``owner`` is alive)."""
    global _installed
    with _lock:
        _registered.add(owner)
        if not _installed:
            atexit.register(_halt_all)
            _installed = True


def _halt_all() -> None:
    with _lock:
        owners = list(_registered)
    for owner in owners:
        owner.halt()
