"""Decay: a power-law forgetting score, the archive-below policy and per-user caps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from memosys.api.local import MemOS
from memosys.core.clock import FixedClock
from memosys.core.items import LifecycleState, MemoryItem
from memosys.lifecycle.decay import decay_score
from memosys.settings import LifecycleSettings, load_settings

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SETTINGS = LifecycleSettings(decay_exponent=0.5, decay_scale_days=1.0)


def _item(**fields: Any) -> MemoryItem:
    base: dict[str, Any] = {
        "id": "m", "cube_id": "c", "user_id": "u", "owner": "u", "content": "x",
        "created_at": T0, "updated_at": T0, "importance": 0.0,
    }
    return MemoryItem(**{**base, **fields})


def test_the_score_follows_a_power_law_of_the_time_since_last_use() -> None:
    item = _item()
    assert decay_score(item, T0, SETTINGS) == pytest.approx(1.0)
    for days in (1, 10, 100, 1000):
        expected = (1 + days) ** -0.5
        assert decay_score(item, T0 + timedelta(days=days), SETTINGS) == pytest.approx(expected)
    # a power law, not an exponential: ten times older is a constant factor less remembered
    ratio_a = decay_score(item, T0 + timedelta(days=1000), SETTINGS) / decay_score(
        item, T0 + timedelta(days=100), SETTINGS)
    ratio_b = decay_score(item, T0 + timedelta(days=10000), SETTINGS) / decay_score(
        item, T0 + timedelta(days=1000), SETTINGS)
    assert ratio_a == pytest.approx(ratio_b, rel=0.02)


def test_use_and_importance_slow_the_forgetting() -> None:
    later = T0 + timedelta(days=60)
    plain = decay_score(_item(), later, SETTINGS)
    used = decay_score(_item(access_count=20), later, SETTINGS)
    recent = decay_score(_item(last_accessed_at=T0 + timedelta(days=59)), later, SETTINGS)
    important = decay_score(_item(importance=0.8), later, SETTINGS)
    assert plain < used < 1 and plain < recent and plain < important < 1
    assert decay_score(_item(importance=1.0), later, SETTINGS) == 1.0


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def _open(path: Path, embedder: Any, clock: FixedClock, **lifecycle: Any) -> MemOS:
    settings = load_settings(lifecycle=lifecycle)
    return MemOS.open(path, embedder=embedder, clock=clock, settings=settings)


@pytest.fixture
def mos(tmp_path: Path, embedder: Any, clock: FixedClock) -> Iterator[MemOS]:
    with _open(tmp_path, embedder, clock, archive_below=0.3, job_batch=2) as opened:
        yield opened


def test_the_decay_job_archives_faded_memories_only(mos: MemOS, clock: FixedClock) -> None:
    old = mos.add_texts(["Parked on level 3.", "Lunch was a sandwich.", "Gate B12."],
                        user_id="ann")
    vital = mos.add_texts(["Allergic to penicillin."], user_id="ann")[0]
    mos.update(vital.id, user_id="ann", importance=1.0)
    clock.set(T0 + timedelta(days=365))  # importance 0.5: score 366 ** -0.25 = 0.23
    fresh = mos.add_texts(["The new office is on Elm Street."], user_id="ann")[0]

    run = mos.run_job("decay")

    assert run.result == {"archived": 3, "threshold": 0.3}
    assert all(mos.get(i.id, user_id="ann").state is LifecycleState.ARCHIVED for i in old)
    assert mos.get(vital.id, user_id="ann").state is not LifecycleState.ARCHIVED
    assert mos.get(fresh.id, user_id="ann").state is not LifecycleState.ARCHIVED
    assert {i.id for i in mos.list(user_id="ann")} == {vital.id, fresh.id}
    hits = mos.search("where did I park", user_id="ann", include_archived=True)
    assert old[0].id in {h.item.id for h in hits}
    assert old[0].id not in {h.item.id for h in mos.search("where did I park", user_id="ann")}
    assert mos.decay_score(fresh.id, user_id="ann") == pytest.approx(1.0)


def test_without_a_threshold_the_decay_job_changes_nothing(
    tmp_path: Path, embedder: Any, clock: FixedClock
) -> None:
    with _open(tmp_path, embedder, clock) as mos:
        mos.add_texts(["An old note."], user_id="ann")
        clock.set(T0 + timedelta(days=3650))
        assert mos.run_job("decay").result["archived"] == 0
        assert mos.count(user_id="ann") == 1


@pytest.mark.parametrize("evict", ["lru", "lfu"])
def test_caps_evict_the_least_recently_or_least_often_used(
    tmp_path: Path, embedder: Any, clock: FixedClock, evict: str
) -> None:
    caps = [{"max_items": 2, "kind": "note", "evict": evict}]
    with _open(tmp_path, embedder, clock, caps=caps) as mos:
        a, b, c = mos.add_texts(["alpha apples", "bravo bananas", "charlie cherries"],
                                user_id="ann")
        (fact,) = mos.add_texts(["delta dates"], user_id="ann", kind="fact")
        mos.add_texts(["echo elderberries"], user_id="bob")
        for query, at in (("apples", 1), ("apples", 2), ("apples", 3), ("bananas", 5)):
            clock.set(T0 + timedelta(hours=at))
            mos.search(query, user_id="ann", top_k=1, mode="bm25")
        # a: used 3 times, last at 3h; b: once at 5h; c: never

        run = mos.run_job("caps")

        assert run.result == {"evicted": 1}
        assert mos.get(c.id, user_id="ann").state is LifecycleState.ARCHIVED
        assert {i.id for i in mos.list(user_id="ann")} == {a.id, b.id, fact.id}
        assert mos.count(user_id="bob") == 1
        assert mos.run_job("caps").result == {"evicted": 0}


def test_lru_and_lfu_disagree_when_recency_and_frequency_do(
    tmp_path: Path, embedder: Any, clock: FixedClock
) -> None:
    for evict, survivor_index in (("lru", 1), ("lfu", 0)):
        folder = tmp_path / evict
        caps = [{"max_items": 1, "evict": evict}]
        with _open(folder, embedder, clock, caps=caps) as mos:
            often, recent = mos.add_texts(["alpha apples", "bravo bananas"], user_id="ann")
            for query, at in (("apples", 1), ("apples", 2), ("bananas", 3)):
                clock.set(T0 + timedelta(hours=at))
                mos.search(query, user_id="ann", top_k=1, mode="bm25")
            mos.run_job("caps")
            (kept,) = mos.list(user_id="ann")
            assert kept.id == (often, recent)[survivor_index].id
        clock.set(T0)
