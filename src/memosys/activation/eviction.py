"""Which caches to evict when a cube is over its byte budget.

Three paging policies rank a cube's caches, first to go first:

- ``lru``: least recently used (never used: oldest build first);
- ``lfu``: fewest hits, ties broken by recency;
- ``predicted``: the cache whose next use is predicted furthest in the future
  (Belady's rule with a forecast). The forecast is the last use plus the mean gap
  between past uses; a cache used once or never is forecast one "age" ahead
  (the time since it was built), so a burst of reuse protects a cache and a
  one-off build is the first candidate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Policy = Literal["lru", "lfu", "predicted"]
POLICIES: tuple[Policy, ...] = ("lru", "lfu", "predicted")


@dataclass(frozen=True)
class Usage:
    """What a policy knows about one cache: size, build time, hits and recent use times (s)."""

    name: str
    byte_size: int
    created: float
    uses: Sequence[float]
    hits: int = 0


def predicted_next_use(usage: Usage, now: float, prior_gap: float = 0.0) -> float:
    """When the cache is expected to be used next (seconds, same clock as ``now``).

    Reuse is modelled as a Poisson process whose rate is read from the recent
    use times: a cache reused every ``gap`` seconds is next expected ``gap``
    from now. One idle for much longer than its gap (four gaps) has changed
    pace, and the expected wait grows with the idle time. A cache with fewer
    than two uses has no rate of its own: it gets ``prior_gap`` (the slowest
    pace seen in the cube) or its idle time, whichever is longer.
    """
    last = usage.uses[-1] if usage.uses else usage.created
    idle = max(now - last, 0.0)
    if len(usage.uses) >= 2:
        gap = _mean_gap(usage)
        return now + (gap if idle <= 4 * gap else idle)
    return now + max(idle, prior_gap) + 1.0


def eviction_order(usages: Iterable[Usage], policy: Policy, now: float) -> list[str]:
    """Names of the caches, first to evict first."""

    def last_use(u: Usage) -> float:
        return u.uses[-1] if u.uses else u.created

    ranked = list(usages)
    if policy == "lru":
        ranked.sort(key=lambda u: (last_use(u), u.name))
    elif policy == "lfu":
        ranked.sort(key=lambda u: (u.hits, last_use(u), u.name))
    else:
        gaps = [_mean_gap(u) for u in ranked if len(u.uses) >= 2]
        prior = max(gaps, default=0.0)
        ranked.sort(key=lambda u: (-predicted_next_use(u, now, prior), u.name))
    return [u.name for u in ranked]


def _mean_gap(usage: Usage) -> float:
    return (usage.uses[-1] - usage.uses[0]) / (len(usage.uses) - 1)


def victims(
    usages: Sequence[Usage], budget: int, policy: Policy, now: float, keep: str | None = None
) -> list[str]:
    """The caches to evict so the rest fit in ``budget`` bytes (``keep`` is never chosen)."""
    total = sum(u.byte_size for u in usages)
    size = {u.name: u.byte_size for u in usages}
    chosen: list[str] = []
    for name in eviction_order(usages, policy, now):
        if total <= budget:
            break
        if name == keep:
            continue
        chosen.append(name)
        total -= size[name]
    return chosen
