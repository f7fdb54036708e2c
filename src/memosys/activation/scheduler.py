"""Scheduling hook: hot memories are promoted into activation memory, cold ones demoted.

Each cube has at most one scheduler-owned cache, :data:`HOT_CACHE`. A memory
is hot when it has been accessed at least ``activation.promote_threshold``
times (searches and generations count) and is not cold; it is cold once it
has not been accessed for ``activation.cold_after_s``. A pass rebuilds the hot
cache when its set of memories changes (at most ``hot_max_memories``, the
most accessed first, within ``max_block_tokens``) and drops it when no memory
is hot. :meth:`Promoter.schedule` runs a pass on a background thread.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from memosys.core.errors import InputTooLargeError, NotFoundError
from memosys.core.items import MemoryItem
from memosys.stores.base import Scope

if TYPE_CHECKING:
    from memosys.activation.manager import ActivationMemory
    from memosys.api.local import MemOS

HOT_CACHE = "hot"
_MAX_CANDIDATES = 10_000


@dataclass
class PromotionReport:
    """What one pass changed, per cube: memories promoted and demoted."""

    promoted: dict[str, list[str]] = field(default_factory=dict)
    demoted: dict[str, list[str]] = field(default_factory=dict)


class Promoter:
    """Keeps each of a user's cubes' hot cache in line with access statistics."""

    def __init__(self, mos: MemOS, activation: ActivationMemory) -> None:
        self._mos = mos
        self._activation = activation
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def run_once(self, *, user_id: str, cube: str | None = None) -> PromotionReport:
        """One promotion/demotion pass over the user's own cubes (or one cube)."""
        report = PromotionReport()
        with self._lock:
            for found in self._mos.list_cubes(user_id=user_id):
                if found.owner != user_id or cube not in (None, found.id, found.name):
                    continue
                promoted, demoted = self._pass(user_id, found.id)
                if promoted:
                    report.promoted[found.id] = promoted
                if demoted:
                    report.demoted[found.id] = demoted
        return report

    def schedule(self, *, user_id: str, cube: str | None = None) -> Future[PromotionReport]:
        """Run :meth:`run_once` on the background thread; the future holds its report."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memosys-kv")
        return self._executor.submit(self.run_once, user_id=user_id, cube=cube)

    def close(self) -> None:
        """Wait for a running pass and stop the background thread."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _pass(self, user_id: str, cube_id: str) -> tuple[list[str], list[str]]:
        settings = self._activation.settings
        cold_before = self._activation.clock.now() - timedelta(seconds=settings.cold_after_s)

        def warm(item: MemoryItem) -> bool:
            return item.last_accessed_at is not None and item.last_accessed_at >= cold_before

        hot = self._mos.list(
            user_id=user_id,
            cube=cube_id,
            filters={"access_count": {"$gte": settings.promote_threshold}},
            limit=_MAX_CANDIDATES,
        )
        hot = sorted(filter(warm, hot), key=lambda i: (-i.access_count, i.created_at, i.id))
        hot = hot[: settings.hot_max_memories]
        current = self._current(user_id, cube_id)
        if not hot:
            if current:
                self._activation.drop(HOT_CACHE, user_id=user_id, cube=cube_id)
            return [], current
        while hot:
            ordered = sorted(hot, key=lambda i: (i.created_at, i.id))  # stable block text
            if {i.id for i in ordered} == set(current) and not self._stale(user_id, cube_id):
                return [], []
            try:
                self._activation.build(
                    user_id=user_id, memory_ids=[i.id for i in ordered], name=HOT_CACHE
                )
                break
            except InputTooLargeError:
                hot = hot[: len(hot) * 3 // 4]  # the least accessed quarter goes
        if not hot and current:  # not even one memory fits a block
            self._activation.drop(HOT_CACHE, user_id=user_id, cube=cube_id)
        kept = [i.id for i in sorted(hot, key=lambda i: (i.created_at, i.id))]
        return [i for i in kept if i not in current], [i for i in current if i not in kept]

    def _current(self, user_id: str, cube_id: str) -> list[str]:
        try:
            return self._activation.get(HOT_CACHE, user_id=user_id, cube=cube_id).memory_ids
        except NotFoundError:
            return []

    def _stale(self, user_id: str, cube_id: str) -> bool:
        record = self._activation.get(HOT_CACHE, user_id=user_id, cube=cube_id)
        items = self._mos.store.get_items(Scope(user_id, (cube_id,)), record.memory_ids)
        versions = {item.id: item.version for item in items}
        return record.info.stale or versions != record.info.source_memory_versions
