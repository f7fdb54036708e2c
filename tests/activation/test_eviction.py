"""Eviction under a per-cube byte budget, with LRU, LFU and predicted-reuse policies."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.activation.support import START, open_mos

from memosys.activation.eviction import Usage, eviction_order, predicted_next_use, victims
from memosys.core.clock import FixedClock

# built at t=0, 10, 20; "a" used at 30 and 31, "b" at 40 (the most recent), "c" never
USAGES = [
    Usage("a", 100, 0.0, [30.0, 31.0], hits=2),
    Usage("b", 100, 10.0, [40.0], hits=1),
    Usage("c", 100, 20.0, [], hits=0),
]


@pytest.mark.parametrize(
    ("policy", "order"),
    [
        ("lru", ["c", "a", "b"]),  # c was last touched at 20, a at 31, b at 40
        ("lfu", ["c", "b", "a"]),  # 0, 1 and 2 hits
        # forecasts: c (never reused) 81, a (a burst, then idle for 19 gaps) 69, b (recent) 61
        ("predicted", ["c", "a", "b"]),
    ],
)
def test_each_policy_orders_the_victims(policy: Any, order: list[str]) -> None:
    assert eviction_order(USAGES, policy, now=50.0) == order


def test_predicted_next_use_follows_the_pace_then_the_idle_time() -> None:
    steady = Usage("x", 1, 0.0, [10.0, 20.0, 30.0])
    assert predicted_next_use(steady, now=35.0) == 45.0  # one gap from now
    assert predicted_next_use(steady, now=100.0) == 170.0  # idle 7 gaps: as long again
    assert predicted_next_use(Usage("y", 1, 0.0, []), now=35.0) == 71.0
    assert predicted_next_use(Usage("y", 1, 0.0, []), now=35.0, prior_gap=50.0) == 86.0


def test_victims_free_just_enough_and_spare_the_kept_one() -> None:
    assert victims(USAGES, budget=300, policy="lru", now=50.0) == []
    assert victims(USAGES, budget=200, policy="lru", now=50.0) == ["c"]
    assert victims(USAGES, budget=100, policy="lru", now=50.0, keep="c") == ["a", "b"]


@pytest.mark.parametrize(("policy", "evicted"), [("lru", "first"), ("lfu", "second")])
def test_building_over_the_budget_evicts_by_policy(
    tmp_path: Path, embedder: Any, tiny_lm: Any, policy: str, evicted: str
) -> None:
    clock = FixedClock(START)
    probe_settings: dict[str, Any] = {"eviction": policy}
    with open_mos(tmp_path / "d", embedder, clock, **probe_settings) as mos:
        ids = [i.id for i in mos.add_texts(["fact one", "fact two", "fact 3"], user_id="ann")]
        size = mos.activation.build(memory_ids=ids[:1], user_id="ann", name="probe").info.byte_size
        mos.activation.drop("probe", user_id="ann")
    budget = {"byte_budget_per_cube": int(size * 2.5), **probe_settings}
    with open_mos(tmp_path / "d", embedder, clock, **budget) as mos:
        for name, memory in zip(("first", "second"), ids, strict=False):
            mos.activation.build(memory_ids=[memory], user_id="ann", name=name)
            clock.set(clock.now() + timedelta(seconds=10))
        for _ in range(2):  # "first" is used twice, "second" once, later
            mos.generate("q", user_id="ann", memories=[ids[0]], max_new_tokens=1)
            clock.set(clock.now() + timedelta(seconds=10))
        mos.generate("q", user_id="ann", memories=[ids[1]], max_new_tokens=1)
        clock.set(clock.now() + timedelta(seconds=10))
        mos.activation.build(memory_ids=[ids[2]], user_id="ann", name="third")
        left = {r.name for r in mos.activation.list(user_id="ann")}
        assert left == {"first", "second", "third"} - {evicted}
        assert mos.activation.stats(user_id="ann")["bytes"] <= int(size * 2.5)
