"""Forgetting a source of a merge: the merged memory must not keep the forgotten text.

A merge copies the fuller text of two memories into a new one
(:mod:`.merge`). Forgetting a source cuts its id from ``merged_from``, but
the merged memory may still hold its text. :class:`MergeRepair` listens for
``forgotten`` events; a merged memory of that cube that lost a source is
forgotten too when no source is left or when it (in any of its versions:
text, tags or metadata) holds something of the forgotten one's, and a copy
of the surviving source takes its place (``merged_from`` = that source), so
what the survivor says stays current. Merged memories deleted or edited
since are found too (by their first version); a deleted one is not made anew.
Frozen merged memories are left alone until their owner unfreezes them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from memosys.core.clock import Clock
from memosys.core.events import ChangeEvents, MemoryChange
from memosys.core.ids import new_id
from memosys.core.items import LifecycleState, MemoryItem
from memosys.lifecycle.forget import forget_items
from memosys.lifecycle.merge import MERGED_HASH_PREFIX, merged_hash
from memosys.lifecycle.upkeep import ItemChanges, upkeep_of
from memosys.lifecycle.versions import version_store
from memosys.models.embedders.base import Embedder
from memosys.stores.base import Scope, Store


def rebuilt_item(survivor: MemoryItem, merged: MemoryItem, now: datetime) -> MemoryItem:
    """A merged memory holding only the surviving source, with the merge's use and weight
    (and archived if the merge was: what was put away stays put away)."""
    return survivor.model_copy(
        update={
            "id": new_id(),
            "content_hash": merged_hash(survivor.content, [survivor.id]),
            "created_at": now,
            "updated_at": now,
            "state": (
                LifecycleState.ARCHIVED
                if merged.state == LifecycleState.ARCHIVED
                else LifecycleState.GENERATED
            ),
            "version": 1,
            "previous_versions": [],
            "supersedes": [],
            "superseded_by": None,
            "merged_from": [survivor.id],
            "importance": merged.importance,
            "access_count": merged.access_count,
            "last_accessed_at": merged.last_accessed_at,
        }
    )


def _intact(item: MemoryItem) -> bool:
    """Whether ``item``, as a merge made it, still has every source (forgetting a source
    cuts it from ``merged_from``, and the hash no longer matches)."""
    return item.content_hash == merged_hash(item.content, item.merged_from)


def _only_from(version: MemoryItem, survivor: MemoryItem) -> bool:
    """Whether a version of a merged memory holds nothing (text, tags, metadata) that
    its surviving source does not."""
    metadata = survivor.metadata
    return (
        version.content == survivor.content
        and set(version.tags) <= set(survivor.tags)
        and all(key in metadata and metadata[key] == value
                for key, value in version.metadata.items())
    )


class MergeRepair:
    """Keeps merged memories free of forgotten text (see the module docstring)."""

    def __init__(self, store: Store, embedder: Embedder, events: ChangeEvents, clock: Clock):
        self._store = store
        self._embedder = embedder
        self._events = events
        self._clock = clock
        self._local = threading.local()

    def __call__(self, change: MemoryChange) -> None:
        """The event listener: repair merges in the cube where memories were forgotten."""
        if change.kind != "forgotten" or change.cube_id is None:
            return
        if getattr(self._local, "busy", False):
            return
        self.repair(Scope(change.user_id, (change.cube_id,)))

    def repair(self, scope: Scope) -> list[str]:
        """Forget and rebuild the merged memories of ``scope`` that lost a source;
        returns the ids of those forgotten."""
        broken: list[tuple[MemoryItem, MemoryItem | None]] = []
        versions = version_store(self._store)
        for item in upkeep_of(self._store).merged_items(scope, MERGED_HASH_PREFIX):
            if item.state == LifecycleState.FROZEN or _intact(item):
                continue
            # edited or deleted since the merge: its first version says what it was made of
            kept = [v.item for v in versions.history(scope, item.id)]
            if _intact(kept[0]):
                continue
            survivors = self._store.get_items(scope, kept[0].merged_from)
            survivor = survivors[0] if survivors else None
            if survivor is None or not all(_only_from(v, survivor) for v in kept):
                # a deleted merge is forgotten, not made anew
                broken.append((item, None if item.state == LifecycleState.DELETED else survivor))
        if not broken:
            return []
        now = self._clock.now()
        gone = [item.id for item, _ in broken]
        with self._own_changes():
            for cube_id in sorted({item.cube_id for item, _ in broken}):
                ids = [
                    i for i, (item, _) in zip(gone, broken, strict=True) if item.cube_id == cube_id
                ]
                forget_items(version_store(self._store), self._events, cube_id, scope.user_id, ids)
            rebuilt = [rebuilt_item(s, item, now) for item, s in broken if s is not None]
            if rebuilt:
                vectors = self._embedder.embed([r.search_text() for r in rebuilt])
                with self._events.changing():
                    upkeep_of(self._store).apply(
                        scope,
                        ItemChanges(
                            added=rebuilt, vectors=vectors, fingerprint=self._embedder.fingerprint
                        ),
                        None,
                    )
                    for item in rebuilt:
                        self._events.emit(
                            "added", [item.id], cube_id=item.cube_id, user_id=scope.user_id
                        )
        return gone

    @contextmanager
    def _own_changes(self) -> Iterator[None]:
        """Tell the other listeners about our changes; we do not react to our own forgetting."""
        self._local.busy = True
        try:
            yield
        finally:
            self._local.busy = False
