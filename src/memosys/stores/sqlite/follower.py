"""A background thread that runs one job after it is nudged, once per burst of nudges.

The text mirror uses it to take in a write soon after it commits
(:mod:`.text_mirror`), and the vector cache to insert new vectors into HNSW
(:mod:`.vector_cache`), so that a search seldom waits for either. Nudges that
come while the job runs make it run once more. The thread starts at the first
nudge and ends at :meth:`Follower.close`, or when the process exits
(:mod:`.exit_hook`: a job may run native code); a long job checks
:attr:`Follower.closing` between its steps.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from memosys.core.errors import MemosysError
from memosys.stores.sqlite.exit_hook import halt_at_exit

_log = logging.getLogger(__name__)


class Follower:
    """Runs ``job`` in a daemon thread named ``name`` after each :meth:`nudge`."""

    def __init__(self, name: str, job: Callable[[], None]) -> None:
        self._name = name
        self._job = job
        self._state = threading.Condition()  # guards the fields below
        self._thread: threading.Thread | None = None
        self._pending = False
        self._running = False
        self._closed = False

    def nudge(self) -> None:
        """Run the job soon, starting the thread if it is not running (the first time, or
        in a process forked since); no-op once closed."""
        with self._state:
            if self._closed:
                return
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
                halt_at_exit(self)
            self._pending = True
            self._state.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no nudge is pending and the job is not running; False on timeout."""
        with self._state:
            return self._state.wait_for(lambda: not (self._pending or self._running), timeout)

    def close(self) -> None:
        """Stop the thread, after the job it is running, if any."""
        with self._state:
            self._closed = True
            self._state.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def halt(self) -> None:
        """Close it (at exit)."""
        self.close()

    @property
    def closing(self) -> bool:
        """Whether :meth:`close` was called (a long job stops early)."""
        return self._closed

    @property
    def alive(self) -> bool:
        """Whether the thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._state:
                self._state.wait_for(lambda: self._pending or self._closed)
                if self._closed:
                    return
                self._pending, self._running = False, True
            try:
                self._job()
            except MemosysError as exc:  # e.g. the store closed under it: searches catch up
                _log.warning("%s: %s", self._name, exc)
            except Exception:  # a bug: shown, and searches still catch up themselves
                _log.exception("%s failed", self._name)
            finally:
                with self._state:
                    self._running = False
                    self._state.notify_all()
