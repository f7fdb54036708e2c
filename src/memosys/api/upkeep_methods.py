"""The facade's upkeep methods: background jobs, dedup, expiry and decay."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

from memosys.api.facade import FacadeBase, checked_text
from memosys.core.checks import checked_flag, is_number
from memosys.core.clock import to_utc
from memosys.core.errors import ConflictError, InvalidInputError
from memosys.core.items import MemoryItem
from memosys.lifecycle.decay import decay_score
from memosys.lifecycle.jobs import JobInfo, JobRunner
from memosys.lifecycle.merge import Deduper, Merge
from memosys.lifecycle.schedule import JobScheduler
from memosys.lifecycle.upkeep import JobRun
from memosys.stores.base import Scope

JobInfos: TypeAlias = list[JobInfo]
JobRuns: TypeAlias = list[JobRun]
Merges: TypeAlias = list[Merge]


class UpkeepMethods(FacadeBase):
    """Background jobs, dedup, expiry and decay (see :mod:`memosys.lifecycle`)."""

    _scheduler: JobScheduler | None = None

    def jobs(self) -> JobInfos:
        """The background jobs (ttl-purge, decay, caps, dedup, ...) with their latest run."""
        return self._job_runner().infos()

    def run_job(self, name: str, *, params: dict[str, Any] | None = None) -> JobRun:
        """Run background job ``name`` now and return its recorded run.

        A run left unfinished by a process that died is resumed from its last
        committed step. ConflictError while another process, or another thread
        of this one (the scheduler of :meth:`start_jobs`), runs the job.
        """
        self._access.settle()
        return self._job_runner().run(checked_text(name, "name", empty=False), params)

    def job_runs(self, name: str | None = None, *, limit: int = 20) -> JobRuns:
        """The latest job runs (of one job, or all), newest first."""
        return self._job_runner().runs(name, limit)

    def dedup(
        self,
        *,
        user_id: str,
        cube: str | None = None,
        threshold: float | None = None,
        dry_run: bool = False,
    ) -> Merges:
        """Merge near-duplicate memories in one of the user's cubes (default: its own cubes).

        Each merge keeps both sources in ``merged_from``; the sources become
        ``merged``. ``dry_run`` reports the merges without writing them.
        """
        settings = self.settings.lifecycle
        if threshold is not None and (not is_number(threshold) or not 0 < threshold <= 1):
            raise InvalidInputError(f"threshold must be in (0, 1], got {threshold!r}")
        dry_run = checked_flag(dry_run, "dry_run")
        user = self._cubes.ensure_user(user_id)
        if cube is None:
            cubes = self._store.list_cubes(owner=user)
        else:
            cubes = [self._cubes.writable(user, cube)]
        deduper = Deduper(
            self._store, self._embedder, threshold or settings.dedup_threshold,
            settings.dedup_kinds,
        )
        merges: Merges = []
        for target in cubes:
            scope, now = Scope(user, (target.id,)), self._clock.now()
            found = deduper.dedup(scope, settings.job_batch, now, self.events, dry_run=dry_run)
            merges.extend(found)
        return merges

    def set_expiry(
        self, id: str, *, user_id: str, expires_at: datetime | None
    ) -> MemoryItem:
        """Make a memory expire at ``expires_at`` (None: never), as a new version.

        Expired memories disappear from every read at once; the ``ttl-purge``
        job then erases them as :meth:`forget` does, leaving no trace in the data
        directory's files (frozen ones wait for their owner).
        """
        if expires_at is not None and not isinstance(expires_at, datetime):
            raise InvalidInputError(
                f"expires_at must be a datetime or None, got {type(expires_at).__name__}"
            )
        user = self._cubes.ensure_user(user_id)
        scope = self._cubes.scope(user, None)
        when = None if expires_at is None else to_utc(expires_at, "expires_at")

        def make(current: MemoryItem) -> MemoryItem:
            self._cubes.check_write(user, current.cube_id)
            update = {"expires_at": when, "updated_at": self._clock.now()}
            with self.events.changing():
                stored = self._store.update_item(scope, current.model_copy(update=update), None)
                self.events.emit("updated", [stored.id], cube_id=stored.cube_id, user_id=user)
            return stored

        return self._change(scope, id, make)

    def decay_score(self, id: str, *, user_id: str) -> float:
        """How well a memory is remembered now, in (0, 1] (see :mod:`memosys.lifecycle.decay`)."""
        item = self._get(self._cubes.scope(self._cubes.ensure_user(user_id), None), id)
        return decay_score(item, self._clock.now(), self.settings.lifecycle)

    @property
    def scheduler(self) -> JobScheduler | None:
        """The background job scheduler, while one runs (see :meth:`start_jobs`)."""
        return self._scheduler

    def start_jobs(self) -> JobScheduler:
        """Run the jobs of ``lifecycle.schedule`` in a background thread until :meth:`stop_jobs`
        (or close). ConflictError if this object already runs them."""
        if self._scheduler is not None:
            raise ConflictError("background jobs are already running; call stop_jobs() first")
        schedule = self.settings.lifecycle.schedule
        self._scheduler = JobScheduler(self._job_runner(), schedule, self._clock).start()
        return self._scheduler

    def stop_jobs(self) -> None:
        """Stop the background jobs (a running job ends after its current step, to be resumed)."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.stop()

    def _job_runner(self) -> JobRunner:
        return JobRunner(
            self._store, self._embedder, self.settings.lifecycle, self._clock, self.events
        )
