"""TTL: memories past their ``expires_at`` are purged by a background job.

Reads never return an expired memory (the store leaves them out of every
query); this job then erases them as ``forget`` does (:mod:`.forget`): the
row and all its versions, its text-index entries, its vector and its cube's
saved HNSW index, its slot keys, and its id in the links of other memories;
snapshots are recounted, and freed pages are zeroed as it goes. A run that
purged anything compacts the database once at the end (FTS merge, WAL
checkpoint; no VACUUM, which would hold the write lock for seconds), after
which no byte of the text is left in the files of the data directory; its
result says whether that worked (``compacted`` False: a reader kept the WAL
busy, and the next run compacts again). Each
purge is audited as ``memory.forget`` by ``@jobs`` and announced as
``"forgotten"``, so KV caches, adapters and merged memories built from it
let go of it too. Frozen memories are kept until their owner unfreezes them.
"""

from __future__ import annotations

from typing import Any

from memosys.core.items import LifecycleState
from memosys.lifecycle.jobs import JobContext
from memosys.lifecycle.upkeep import ItemChanges, JobRun
from memosys.lifecycle.versions import version_store

#: Expired memories in these states are purged (frozen ones wait for their owner).
PURGEABLE = tuple(s.value for s in LifecycleState if s is not LifecycleState.FROZEN)


class TtlPurgeJob:
    """Erase every memory whose ``expires_at`` has passed, as ``forget`` does."""

    name = "ttl-purge"
    description = (
        "erase memories whose expires_at has passed, as forget does (rows, versions, index, "
        "vectors, links), then compact the database so no trace is left in its files"
    )
    params: tuple[str, ...] = ()

    def run(self, ctx: JobContext) -> dict[str, Any]:
        cursor = ctx.cursor
        after, purged = int(cursor.get("after", 0)), int(cursor.get("purged", 0))
        now = ctx.clock.now()
        while batch := ctx.upkeep.scan(
            after, ctx.settings.job_batch, states=PURGEABLE, expired_at=now
        ):
            after = batch[-1][0]
            items = [item for _, item in batch]
            purged += len(items)
            ctx.commit(
                ItemChanges(deleted=[i.id for i in items]),
                {"after": after, "purged": purged},
                ctx.run.progress + len(items),
                [("forgotten", items)],
            )
        compacted = None
        if purged or _left_traces(ctx.upkeep.runs(self.name, 2), ctx.run.id):
            # no rewrite: a VACUUM would hold the write lock for seconds every hour
            compacted = version_store(ctx.store).compact(rewrite=False)
        return {"purged": purged, "compacted": compacted}


def _left_traces(runs: list[JobRun], current: int) -> bool:
    """Whether the run before ``current`` may have left bytes of what it purged: it
    failed (perhaps after purging, before compacting), or could not compact."""
    previous = next((r for r in runs if r.id != current), None)
    return previous is not None and (
        previous.status == "failed" or (previous.result or {}).get("compacted") is False
    )
