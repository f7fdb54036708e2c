"""What lifecycle upkeep needs from a store, beyond the :class:`~memosys.stores.base.Store`.

Knowledge updates, merges, TTL purges and decay change several items at once;
:meth:`UpkeepStore.apply` writes such a change set, and optionally a job's
checkpoint, in one transaction, so no reader and no crash ever sees half of
it. The store also keeps the job ledger and the slot-key index. A store
provides this as its ``upkeep`` attribute (see :func:`upkeep_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from memosys.core.errors import ConfigurationError
from memosys.core.items import MemoryItem
from memosys.stores.base import Scope, Store, Vectors

JobStatus = Literal["running", "succeeded", "failed"]
EvictionOrder = Literal["lru", "lfu"]


class JobRun(BaseModel):
    """One run of a background job, as recorded in the job ledger."""

    id: int
    name: str
    status: JobStatus
    params: dict[str, Any] = Field(default_factory=dict)
    progress: int = 0
    cursor: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    pid: int | None = None
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None = None


@dataclass(frozen=True)
class Checkpoint:
    """A job's position after a step, written with the step's changes."""

    run_id: int
    progress: int
    cursor: dict[str, Any]


@dataclass
class ItemChanges:
    """Items to add (with vectors), replace with a new version, and delete, together."""

    added: list[MemoryItem] = field(default_factory=list)
    vectors: Vectors | None = None
    fingerprint: str | None = None
    updated: list[MemoryItem] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    """Ids to remove for good, as forgetting does (:meth:`VersionStore.forget_items`):
    every version, index entry, vector and link, freed space zeroed; a frozen one
    refuses the whole change set. The caller compacts the store once it is done
    (:meth:`VersionStore.compact`)."""
    note: str | None = None
    """Why, recorded with each new version (e.g. "superseded by <id>")."""

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.deleted)


class UpkeepStore(Protocol):
    """Atomic change sets, the job ledger and the slot-key index."""

    def apply(self, scope: Scope, changes: ItemChanges, checkpoint: Checkpoint | None) -> None:
        """Write ``changes`` and ``checkpoint`` in one transaction (all or nothing); deleted
        items are forgotten, and dropped from loaded indexes once it commits."""
        ...

    def set_slot_keys(self, cube_id: str, keys: Mapping[str, Sequence[str]]) -> None:
        """Replace the slot keys of these items (item id -> keys)."""
        ...

    def slot_groups(
        self, scope: Scope, keys: Sequence[str], states: Sequence[str]
    ) -> dict[str, list[MemoryItem]]:
        """Visible items in these states per slot key, in the order they were stored."""
        ...

    def scan(
        self,
        after: int,
        limit: int,
        *,
        states: Sequence[str] | None = None,
        expired_at: datetime | None = None,
    ) -> list[tuple[int, MemoryItem]]:
        """Items of every cube after storage position ``after``, expired ones included,
        optionally only those in ``states`` or expired at ``expired_at``."""
        ...

    def merged_items(self, scope: Scope, prefix: str) -> list[MemoryItem]:
        """Items of the scope's cubes made by a merge (content hash starting with ``prefix``,
        now or in an earlier version), in every state, tombstones included."""
        ...

    def usage(self, states: Sequence[str]) -> list[tuple[str, str, int]]:
        """``(user id, kind, count)`` of the items in ``states``."""
        ...

    def eviction_order(
        self,
        user_id: str,
        kind: str | None,
        states: Sequence[str],
        order: EvictionOrder,
        limit: int,
    ) -> list[MemoryItem]:
        """The user's items (of ``kind``, or all kinds) that ``order`` evicts first."""
        ...

    def start_run(self, name: str, params: dict[str, Any], pid: int, now: datetime) -> JobRun:
        """Record a new running run."""
        ...

    def claim_run(
        self, name: str, params: dict[str, Any], pid: int, now: datetime,
        alive: Callable[[int], bool],
    ) -> JobRun:
        """Atomically start a run of ``name``, or take over its unfinished run when the
        process holding it is not ``alive``; ConflictError when it is."""
        ...

    def claim_due(
        self, name: str, params: dict[str, Any], pid: int, now: datetime,
        alive: Callable[[int], bool], every_s: float,
    ) -> JobRun | None:
        """Like :meth:`claim_run`, for a scheduler: None instead of ConflictError, and None
        when a run of ``name`` finished less than ``every_s`` seconds before ``now``."""
        ...

    def release_run(self, run_id: int, now: datetime) -> JobRun:
        """Leave a run unfinished but held by no process, so that any runner resumes it."""
        ...

    @property
    def location(self) -> str:
        """Which ledger this is (runners of one ledger in one process take turns)."""
        ...

    def finish_run(
        self,
        run_id: int,
        status: JobStatus,
        result: dict[str, Any] | None,
        error: str | None,
        now: datetime,
    ) -> JobRun:
        """Record how a run ended."""
        ...

    def runs(self, name: str | None, limit: int) -> list[JobRun]:
        """The latest runs, newest first."""
        ...

    def run(self, run_id: int) -> JobRun | None:
        """One run by id."""
        ...


def upkeep_of(store: Store) -> UpkeepStore:
    """The store's upkeep side; ConfigurationError for a store without one."""
    upkeep: UpkeepStore | None = getattr(store, "upkeep", None)
    if upkeep is None:
        raise ConfigurationError(
            f"{type(store).__name__} does not support lifecycle upkeep (jobs, supersede, merge); "
            "use the SQLite store"
        )
    return upkeep
