"""The job scheduler: runs each scheduled job every so many seconds, in a background thread.

``lifecycle.schedule`` maps job names to intervals (seconds; 0 or None: not
scheduled). A job is due when its last run finished that long ago, or at
once when it never ran or its last run was left unfinished (a crashed or
stopped runner's run is resumed from its cursor). The job ledger decides who
runs a due job: of two processes on one data directory, one claims the run
and the other skips it (:meth:`~memosys.lifecycle.jobs.JobRunner.run_due`).

A failing job is recorded as failed in the ledger, logged, and tried again
one interval later; the thread keeps going. :meth:`JobScheduler.stop` ends
a running job after its current step (to be resumed) and joins the thread.
Due times use the store's clock, waits use real time.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping

from memosys.core.clock import Clock
from memosys.core.errors import ConfigurationError, NotFoundError
from memosys.lifecycle.jobs import JobRunner, due_at
from memosys.lifecycle.upkeep import JobRun

log = logging.getLogger("memosys.jobs")

STOP_TIMEOUT_S = 60.0
KEEP = 1000  # finished runs and errors kept in memory for observers


class JobScheduler:
    """Runs the jobs of ``schedule`` (name -> seconds) through ``runner`` while started."""

    def __init__(
        self, runner: JobRunner, schedule: Mapping[str, float | None], clock: Clock
    ) -> None:
        for name in schedule:
            try:
                runner.job(name)
            except NotFoundError as exc:
                raise ConfigurationError(
                    f"lifecycle.schedule names an unknown job: {exc.message}",
                    detail={"job": name},
                ) from exc
        self._runner = runner
        self._every = {name: float(s) for name, s in sorted(schedule.items()) if s}
        self._clock = clock
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="memosys-jobs", daemon=True)
        self.finished: deque[JobRun] = deque(maxlen=KEEP)
        """The latest runs this scheduler ended, oldest first (succeeded or left to resume)."""
        self.errors: deque[str] = deque(maxlen=KEEP)
        """The latest errors it met, oldest first (a failed run's is in the ledger too)."""

    @property
    def intervals(self) -> dict[str, float]:
        """The scheduled jobs and their intervals in seconds."""
        return dict(self._every)

    def start(self) -> JobScheduler:
        """Start the background thread (it runs the due jobs at once)."""
        self._thread.start()
        return self

    def stop(self, *, wait: bool = True) -> None:
        """Stop: a running job ends after its current step (to be resumed later);
        ``wait`` for the thread to end."""
        self._stop.set()
        if wait and self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)

    @property
    def running(self) -> bool:
        """Whether the background thread is alive."""
        return self._thread.is_alive()

    def run_due(self) -> list[JobRun]:
        """Run every due job once, one after the other; returns the runs that ended."""
        ended: list[JobRun] = []
        for name, every in self._every.items():
            if self._stop.is_set():
                break
            try:
                run = self._runner.run_due(name, every, self._stop)
            except Exception as exc:  # recorded in the ledger; the scheduler goes on
                log.exception("scheduled job %s failed", name)
                self._record(None, f"{name}: {type(exc).__name__}: {exc}")
                continue
            if run is not None:
                ended.append(run)
                self._record(run, None)
        return ended

    def wait_for(
        self, condition: Callable[[JobScheduler], bool], timeout: float
    ) -> bool:
        """Wait until ``condition(self)`` holds after a run ends (False on timeout)."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout)

    def _record(self, run: JobRun | None, error: str | None) -> None:
        with self._changed:
            if run is not None:
                self.finished.append(run)
            if error is not None:
                self.errors.append(error)
            self._changed.notify_all()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
                wait = self._seconds_to_next()
            except Exception as exc:  # e.g. the ledger was locked too long: try again later
                log.exception("job scheduler round failed")
                self._record(None, f"{type(exc).__name__}: {exc}")
                wait = min(self._every.values(), default=STOP_TIMEOUT_S)
            self._stop.wait(wait)

    def _seconds_to_next(self) -> float:
        """Seconds until the next job is due (at most the shortest interval, so a job
        another process was running is looked at again)."""
        if not self._every:
            return STOP_TIMEOUT_S
        now = self._clock.now()
        waits = [min(self._every.values())]
        for name, every in self._every.items():
            last = next(iter(self._runner.runs(name, limit=1)), None)
            if last is not None and last.status == "running":
                continue  # another process holds it: looked at again after the shortest wait
            due = due_at(last, every, now)
            if due is not None:
                waits.append((due - now).total_seconds())
        return max(min(waits), 0.0)
