"""Decay: how well a memory is remembered, from recency, use and importance.

The score follows a power-law forgetting curve (Wixted and Ebbesen 1991;
ACT-R's base-level decay): retention after ``t`` days without use is
``(1 + t / (scale * strength)) ** -exponent``, where ``strength = 1 +
ln(1 + access_count)`` makes often-used memories fade more slowly. The
memory's importance then bends the curve: ``score = retention ** (1 -
importance)``, so importance 1 never fades and importance 0 fades fully.
Scores are in (0, 1]; the ``decay`` job archives memories scoring below
``lifecycle.archive_below`` (archived memories leave search by default and
can be unarchived).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from memosys.core.items import LifecycleState, MemoryItem
from memosys.lifecycle.jobs import JobContext, fraction_param
from memosys.lifecycle.states import in_state
from memosys.lifecycle.upkeep import ItemChanges
from memosys.settings import LifecycleSettings

#: States the decay job may archive.
DECAYING = (LifecycleState.GENERATED.value, LifecycleState.ACTIVATED.value)
SECONDS_PER_DAY = 86_400.0


def last_use(item: MemoryItem) -> datetime:
    """When the memory was last used: its last access, else when it was written."""
    return item.last_accessed_at or item.updated_at or item.created_at


def decay_score(item: MemoryItem, now: datetime, settings: LifecycleSettings) -> float:
    """The memory's retention score in (0, 1] at ``now`` (see the module docstring)."""
    days = max((now - last_use(item)).total_seconds() / SECONDS_PER_DAY, 0.0)
    strength = 1.0 + math.log1p(max(item.access_count, 0))
    retention = (1.0 + days / (settings.decay_scale_days * strength)) ** -settings.decay_exponent
    importance = min(max(item.importance, 0.0), 1.0)
    return float(retention ** (1.0 - importance))


def archived(items: list[MemoryItem], now: datetime) -> list[MemoryItem]:
    """Copies of ``items`` in state archived."""
    return [in_state(item, LifecycleState.ARCHIVED, now) for item in items]


class DecayJob:
    """Archive current memories whose decay score fell below ``archive_below``."""

    name = "decay"
    description = "archive memories whose decay score is below lifecycle.archive_below"
    params: tuple[str, ...] = ("archive_below",)

    def run(self, ctx: JobContext) -> dict[str, Any]:
        threshold = fraction_param(ctx, "archive_below", ctx.settings.archive_below)
        if threshold is None:
            return {"archived": 0, "skipped": "lifecycle.archive_below is not set"}
        cursor = ctx.cursor
        after, done = int(cursor.get("after", 0)), int(cursor.get("archived", 0))
        now = ctx.clock.now()
        while batch := ctx.upkeep.scan(after, ctx.settings.job_batch, states=DECAYING):
            after = batch[-1][0]
            fading = [i for _, i in batch if decay_score(i, now, ctx.settings) < threshold]
            done += len(fading)
            ctx.commit(
                ItemChanges(updated=archived(fading, now), note="archived by decay"),
                {"after": after, "archived": done},
                ctx.run.progress + len(batch),
                [("state", fading)],
            )
        return {"archived": done, "threshold": threshold}
