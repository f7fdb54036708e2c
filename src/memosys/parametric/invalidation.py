"""Adapters go stale when a memory they hold is updated, deleted or forgotten.

:class:`StaleMarker` listens to ``mos.events`` and marks the adapters that
hold a changed memory. Because another process may change memories without
this one hearing of it, :func:`stale_reasons` also compares an adapter's
recorded memory versions with the memories as they are now, whenever the
adapter is listed or loaded.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence

from memosys.core.errors import StoreError
from memosys.core.events import INVALIDATING_KINDS, MemoryChange
from memosys.core.items import LifecycleState, MemoryItem
from memosys.parametric.store import AdapterRecord, AdapterStore

_GONE_STATES = frozenset({LifecycleState.DELETED})


def is_gone(item: MemoryItem | None) -> bool:
    """Whether a memory no longer exists as far as adapters are concerned."""
    return item is None or item.state in _GONE_STATES


def stale_reasons(record: AdapterRecord, current: Mapping[str, MemoryItem | None]) -> list[str]:
    """Why ``record`` no longer matches the memories as they are now (empty if it does)."""
    reasons = []
    for memory_id, version in record.info.source_memory_versions.items():
        item = current.get(memory_id)
        if is_gone(item):
            reasons.append(f"memory {memory_id} was removed")
        elif item is not None and item.version != version:
            reasons.append(f"memory {memory_id} changed (version {version} -> {item.version})")
    return reasons


def mark_stale(
    store: AdapterStore,
    record: AdapterRecord,
    reasons: list[str],
    forgotten: Sequence[str] = (),
) -> AdapterRecord:
    """Record ``reasons`` (and ``forgotten`` memory ids) and the stale flag (no-op if
    nothing new)."""
    fresh = [reason for reason in reasons if reason not in record.stale_reasons]
    gone = [i for i in forgotten if i not in record.forgotten_memory_ids]
    if not fresh and not gone and record.stale:
        return record
    info = record.info.model_copy(update={"stale": True})
    updated = record.model_copy(
        update={
            "info": info,
            "stale_reasons": [*record.stale_reasons, *fresh],
            "forgotten_memory_ids": [*record.forgotten_memory_ids, *gone],
        }
    )
    store.update_record(updated)
    return updated


class StaleMarker:
    """An event listener that marks adapters stale when their memories change.

    The adapters of a forgotten cube (``forget_user``) are removed with their
    folder: their weights were distilled from memories that are gone for good.
    """

    def __init__(
        self, store: AdapterStore, cube_exists: Callable[[str], bool] = lambda _: True
    ) -> None:
        self._store = store
        self._cube_exists = cube_exists

    def __call__(self, change: MemoryChange) -> None:
        if change.kind not in INVALIDATING_KINDS:
            return
        if (
            change.kind == "forgotten"
            and change.cube_id is not None
            and (self._store.root / change.cube_id).is_dir()
            and not self._cube_exists(change.cube_id)
        ):
            shutil.rmtree(self._store.root / change.cube_id, ignore_errors=True)
            return
        if change.cube_id is not None:
            cube_ids = [change.cube_id]
        elif self._store.root.is_dir():
            cube_ids = sorted(p.name for p in self._store.root.iterdir() if p.is_dir())
        else:
            cube_ids = []
        changed = set(change.item_ids)
        for cube_id in cube_ids:
            for name in self._store.names(cube_id):
                try:
                    record = self._store.record(cube_id, name)
                except StoreError:
                    continue  # a damaged adapter is reported when someone uses it
                hit = sorted(changed & record.info.source_memory_versions.keys())
                if hit:
                    forgotten = hit if change.kind == "forgotten" else []
                    reasons = [f"memory {i} {change.kind}" for i in hit]
                    mark_stale(self._store, record, reasons, forgotten)
