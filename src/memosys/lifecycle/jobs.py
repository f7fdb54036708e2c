"""Background jobs: registered upkeep tasks whose runs are recorded, resumable and crash-safe.

A job walks the store in steps. Each step's item changes and the run's new
cursor are written in one transaction (:meth:`JobContext.commit`), so a run
killed at any moment, even by SIGKILL, leaves either the whole step or none
of it, and the ledger says exactly how far it got. Running a job whose last
run is still marked ``running`` by a process that no longer exists resumes
that run from its cursor; steps are idempotent, so redoing one is harmless.

Jobs are registered by name (:func:`register`); the built-in ones are
``ttl-purge``, ``decay``, ``caps``, ``dedup`` and ``supersede`` (see :func:`builtin_jobs`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from memosys.core.clock import Clock
from memosys.core.context import SYSTEM_ACTOR_PREFIX
from memosys.core.errors import ConflictError, InvalidInputError, MemosysError, NotFoundError
from memosys.core.events import ChangeEvents, ChangeKind
from memosys.core.items import MemoryItem
from memosys.lifecycle.upkeep import Checkpoint, ItemChanges, JobRun, UpkeepStore, upkeep_of
from memosys.models.embedders.base import Embedder
from memosys.settings import LifecycleSettings
from memosys.stores.base import Scope, Store

#: Who changed an item, in its version history, when a job changed it (an actor name
#: no user can take, like ``@operator``).
JOB_ACTOR = f"{SYSTEM_ACTOR_PREFIX}jobs"


class JobInfo(BaseModel):
    """A registered job and its latest run."""

    name: str
    description: str
    last_run: JobRun | None = None
    every_s: float | None = None
    """Seconds between scheduled runs (None: run only on request)."""
    next_run_at: datetime | None = None
    """When the scheduler runs it next, if it is scheduled."""
    state: Literal["idle", "running", "interrupted"] = "idle"
    """``running`` in a live process now, ``interrupted`` when its last run was left
    unfinished (the next run resumes it), else ``idle``."""


@dataclass
class JobContext:
    """What a running job works with, and how it commits a step."""

    store: Store
    upkeep: UpkeepStore
    embedder: Embedder
    settings: LifecycleSettings
    clock: Clock
    events: ChangeEvents
    run: JobRun
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def cursor(self) -> dict[str, Any]:
        """Where the run stopped last time (empty for a fresh run)."""
        return dict(self.run.cursor or {})

    def commit(
        self,
        changes: ItemChanges,
        cursor: dict[str, Any],
        progress: int,
        events: Sequence[tuple[ChangeKind, Sequence[MemoryItem]]] = (),
    ) -> None:
        """Write one step: the item changes, the cursor and the audit records of
        ``events`` (kind and items) in one transaction; then tell subscribers.
        """
        cubes = {i.cube_id for i in [*changes.added, *changes.updated]}
        cubes |= {i.cube_id for _, items in events for i in items}
        scope = Scope(JOB_ACTOR, tuple(sorted(cubes)))
        with self.events.changing():
            self.upkeep.apply(scope, changes, Checkpoint(self.run.id, progress, cursor))
            for kind, items in events:
                for cube_id in sorted({i.cube_id for i in items}):
                    ids = [i.id for i in items if i.cube_id == cube_id]
                    self.events.emit(kind, ids, cube_id=cube_id, user_id=JOB_ACTOR)
        self.run = self.run.model_copy(update={"cursor": cursor, "progress": progress})


class Job(Protocol):
    """A background job: a name, a description, the parameters a run may take, and a
    resumable run."""

    name: str
    description: str
    params: tuple[str, ...]

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Do the work from ``ctx.cursor`` on, committing each step; return a summary."""
        ...


_REGISTRY: dict[str, Job] = {}


def register(job: Job) -> Job:
    """Make ``job`` runnable by name (a later registration of the same name replaces it)."""
    _REGISTRY[job.name] = job
    return job


def unregister(name: str) -> None:
    """Forget a job registered by :func:`register` (a built-in one comes back)."""
    _REGISTRY.pop(name, None)


def registered() -> dict[str, Job]:
    """Every registered job by name, the built-in ones included."""
    for job in builtin_jobs():
        _REGISTRY.setdefault(job.name, job)
    return dict(sorted(_REGISTRY.items()))


def builtin_jobs() -> list[Job]:
    """The upkeep jobs memosys ships."""
    from memosys.lifecycle.decay import DecayJob
    from memosys.lifecycle.merge import DedupJob
    from memosys.lifecycle.policies import CapsJob
    from memosys.lifecycle.supersede import SupersedeJob
    from memosys.lifecycle.ttl import TtlPurgeJob

    return [TtlPurgeJob(), DecayJob(), CapsJob(), DedupJob(), SupersedeJob()]


def fraction_param(ctx: JobContext, name: str, default: float | None) -> float | None:
    """A job parameter that must be a number in [0, 1] (``default`` when not given)."""
    value = ctx.params.get(name, default)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1
    ):
        raise InvalidInputError(f"job parameter {name!r} must be a number in [0, 1], got {value!r}")
    return None if value is None else float(value)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Interrupted(Exception):  # noqa: N818 - control flow inside JobRunner, never raised out
    """The runner was asked to stop; the run is left to be resumed."""


@dataclass
class _StoppableContext(JobContext):
    """A context whose :meth:`commit` ends the run after the step when ``stop`` is set."""

    stop: threading.Event = field(default_factory=threading.Event)

    def commit(
        self,
        changes: ItemChanges,
        cursor: dict[str, Any],
        progress: int,
        events: Sequence[tuple[ChangeKind, Sequence[MemoryItem]]] = (),
    ) -> None:
        super().commit(changes, cursor, progress, events)
        if self.stop.is_set():
            raise _Interrupted


_TURNS: dict[tuple[str, str], threading.Lock] = {}
_TURNS_LOCK = threading.Lock()


@contextmanager
def _turn(upkeep: UpkeepStore, name: str) -> Iterator[bool]:
    """Whether this thread got the job's turn in this process (held until the block ends).

    The ledger keeps two processes from running one job at once; this keeps
    two threads of one process (a scheduler and a caller) from doing so.
    """
    with _TURNS_LOCK:
        lock = _TURNS.setdefault((upkeep.location, name), threading.Lock())
    if not lock.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def due_at(last: JobRun | None, every_s: float | None, now: datetime) -> datetime | None:
    """When a job run every ``every_s`` seconds is next due (None: not scheduled).

    A job never run, or whose last run is unfinished, is due ``now``.
    """
    if not every_s:
        return None
    if last is None or last.finished_at is None:
        return now
    return last.finished_at + timedelta(seconds=every_s)


class JobRunner:
    """Runs registered jobs against one store and records every run."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        settings: LifecycleSettings,
        clock: Clock,
        events: ChangeEvents,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._settings = settings
        self._clock = clock
        self._events = events

    def run(self, name: str, params: dict[str, Any] | None = None) -> JobRun:
        """Run job ``name`` to the end (resuming an interrupted run); returns the run.

        ConflictError when another live process, or another thread of this
        one, is running it. A job that fails is recorded as failed and its
        error re-raised.
        """
        job = self.job(name)
        if params is not None and not isinstance(params, dict):
            raise InvalidInputError(f"job params must be a dict, got {type(params).__name__}")
        unknown = sorted(set(params or {}) - set(job.params))
        if unknown:
            takes = ", ".join(job.params) or "none"
            raise InvalidInputError(
                f"job {name!r} takes no parameter {unknown[0]!r} (it takes: {takes})",
                detail={"job": name, "unknown": unknown},
            )
        upkeep = upkeep_of(self._store)
        with _turn(upkeep, name) as mine:
            if not mine:
                raise ConflictError(
                    f"job {name!r} is already running in this process; wait for it to finish",
                    detail={"job": name, "pid": os.getpid()},
                )
            run = upkeep.claim_run(name, params or {}, os.getpid(), self._clock.now(),
                                   process_alive)
            return self._execute(job, upkeep, run, threading.Event())

    def run_due(self, name: str, every_s: float, stop: threading.Event) -> JobRun | None:
        """Run job ``name`` if it is due (see :meth:`UpkeepStore.claim_due`); None if it
        is not, or if someone else is running it.

        When ``stop`` is set the run ends after its current step, left to be
        resumed (status ``running``, held by no process).
        """
        job = self.job(name)
        upkeep = upkeep_of(self._store)
        with _turn(upkeep, name) as mine:
            if not mine:
                return None
            run = upkeep.claim_due(name, {}, os.getpid(), self._clock.now(), process_alive,
                                   every_s)
            return None if run is None else self._execute(job, upkeep, run, stop)

    def _execute(
        self, job: Job, upkeep: UpkeepStore, run: JobRun, stop: threading.Event
    ) -> JobRun:
        ctx = _StoppableContext(
            self._store, upkeep, self._embedder, self._settings, self._clock, self._events,
            run, dict(run.params), stop,
        )
        try:
            result = job.run(ctx)
        except _Interrupted:
            return upkeep.release_run(run.id, self._clock.now())
        except Exception as exc:  # recorded, then raised again
            message = (f"{exc.error_name()}: {exc.message}" if isinstance(exc, MemosysError)
                       else f"{type(exc).__name__}: {exc}")
            upkeep.finish_run(run.id, "failed", None, message, self._clock.now())
            raise
        return upkeep.finish_run(run.id, "succeeded", result, None, self._clock.now())

    def infos(self) -> list[JobInfo]:
        """Every registered job with its latest run, its interval and when it is next due."""
        upkeep = upkeep_of(self._store)
        now = self._clock.now()
        infos = []
        for name, job in registered().items():
            last = next(iter(upkeep.runs(name, 1)), None)
            every = self._settings.schedule.get(name) or None
            state: Literal["idle", "running", "interrupted"] = "idle"
            if last is not None and last.status == "running":
                held = last.pid is not None and process_alive(last.pid)
                state = "running" if held else "interrupted"
            infos.append(JobInfo(
                name=name, description=job.description, last_run=last, every_s=every,
                next_run_at=due_at(last, every, now), state=state,
            ))
        return infos

    def job(self, name: str) -> Job:
        """The registered job called ``name``; NotFoundError names the known ones."""
        jobs = registered()
        if name not in jobs:
            raise NotFoundError(
                f"no job called {name!r}; known jobs: {', '.join(jobs)}", detail={"job": name}
            )
        return jobs[name]

    def runs(self, name: str | None = None, limit: int = 20) -> list[JobRun]:
        """The latest runs, newest first (of one job, or of all)."""
        if name is not None:
            self.job(name)
        if not isinstance(limit, int) or limit < 1:
            raise InvalidInputError(f"limit must be a positive integer, got {limit!r}")
        return upkeep_of(self._store).runs(name, limit)
