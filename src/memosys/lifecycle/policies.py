"""Caps: at most so many current memories per user (and kind), evicting by LRU or LFU.

Each :class:`~memosys.settings.CapPolicy` names a maximum, optionally a
memory kind, and the eviction order: ``lru`` archives the memories used
least recently first, ``lfu`` those used least often (ties: least recent).
Evicted memories are archived, not deleted, so they can be brought back.
"""

from __future__ import annotations

from typing import Any

from memosys.lifecycle.decay import DECAYING, archived
from memosys.lifecycle.jobs import JobContext
from memosys.lifecycle.upkeep import ItemChanges


class CapsJob:
    """Archive memories beyond each cap policy, in its eviction order."""

    name = "caps"
    description = "archive memories over the per-user/per-kind caps (lifecycle.caps), LRU or LFU"
    params: tuple[str, ...] = ()

    def run(self, ctx: JobContext) -> dict[str, Any]:
        evicted = int(ctx.cursor.get("evicted", 0))
        now = ctx.clock.now()
        for policy in ctx.settings.caps:
            counts: dict[str, int] = {}
            for user_id, kind, count in ctx.upkeep.usage(DECAYING):
                if policy.kind is None or policy.kind == kind:
                    counts[user_id] = counts.get(user_id, 0) + count
            for user_id, count in counts.items():
                while (over := count - policy.max_items) > 0:
                    batch = ctx.upkeep.eviction_order(
                        user_id, policy.kind, DECAYING, policy.evict,
                        min(over, ctx.settings.job_batch),
                    )
                    if not batch:
                        break
                    count -= len(batch)
                    evicted += len(batch)
                    ctx.commit(
                        ItemChanges(updated=archived(batch, now), note=f"evicted ({policy.evict})"),
                        {"evicted": evicted},
                        ctx.run.progress + len(batch),
                        [("state", batch)],
                    )
        return {"evicted": evicted}
