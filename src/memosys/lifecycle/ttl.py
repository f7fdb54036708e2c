"""TTL: memories past their ``expires_at`` are purged by a background job.

Reads never return an expired memory (the store leaves them out of every
query); this job removes them for good: the row, its text-index row, its
vector, its versions and slot keys. Frozen memories are kept until their
owner unfreezes them.
"""

from __future__ import annotations

from typing import Any

from memosys.core.items import LifecycleState
from memosys.lifecycle.jobs import JobContext
from memosys.lifecycle.upkeep import ItemChanges

#: Expired memories in these states are purged (frozen ones wait for their owner).
PURGEABLE = tuple(s.value for s in LifecycleState if s is not LifecycleState.FROZEN)


class TtlPurgeJob:
    """Delete every memory whose ``expires_at`` has passed."""

    name = "ttl-purge"
    description = "delete memories whose expires_at has passed (rows, index, vectors, versions)"
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
                ItemChanges(deleted=[i.id for i in items], note="expired"),
                {"after": after, "purged": purged},
                ctx.run.progress + len(items),
                [("deleted", items)],
            )
        return {"purged": purged}
