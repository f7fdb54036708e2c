"""The scheduling hook: hot memories are promoted into a cache, cold ones demoted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.activation.support import FACTS, open_mos

from memosys.activation.scheduler import HOT_CACHE
from memosys.core.clock import FixedClock


def _use(mos: Any, ids: list[str], times: int) -> None:
    for _ in range(times):
        mos.store.record_access(ids, mos.activation.clock.now())


def test_memories_over_the_threshold_are_promoted_and_cold_ones_demoted(
    tmp_path: Path, embedder: Any, clock: FixedClock, tiny_lm: Any
) -> None:
    with open_mos(tmp_path / "d", embedder, clock, promote_threshold=3, cold_after_s=3600) as mos:
        ids = [item.id for item in mos.add_texts(FACTS, user_id="ann")]
        _use(mos, ids[:2], 3)
        _use(mos, ids[2:3], 2)  # under the threshold
        report = mos.activation.scheduler.run_once(user_id="ann")
        cube = mos.activation.get(HOT_CACHE, user_id="ann").cube_id
        assert report.promoted == {cube: ids[:2]}
        assert mos.activation.get(HOT_CACHE, user_id="ann").memory_ids == ids[:2]

        assert mos.activation.scheduler.run_once(user_id="ann").promoted == {}  # nothing new

        clock.set(clock.now() + timedelta(hours=2))  # both go cold ...
        _use(mos, ids[1:3], 1)  # ... but ids[1] is used again; ids[2] reaches 3 accesses
        report = mos.activation.scheduler.run_once(user_id="ann")
        assert report.demoted == {cube: [ids[0]]}
        assert report.promoted == {cube: [ids[2]]}
        assert mos.activation.get(HOT_CACHE, user_id="ann").memory_ids == ids[1:3]

        clock.set(clock.now() + timedelta(hours=2))
        report = mos.activation.scheduler.run_once(user_id="ann")
        assert report.demoted == {cube: ids[1:3]}
        assert mos.activation.list(user_id="ann") == []


def test_a_pass_runs_in_the_background_and_generate_then_uses_the_hot_cache(
    tmp_path: Path, embedder: Any, clock: FixedClock, tiny_lm: Any
) -> None:
    with open_mos(tmp_path / "d", embedder, clock, promote_threshold=2, auto_promote=True) as mos:
        ids = [item.id for item in mos.add_texts(FACTS[:2], user_id="ann")]
        first = mos.generate("Who likes tea?", user_id="ann", memories=ids, max_new_tokens=2)
        assert first.caches == []
        mos.generate("Who likes tea?", user_id="ann", memories=ids, max_new_tokens=2)
        # the second call crossed the threshold and scheduled a pass; wait for it
        mos.activation.scheduler.schedule(user_id="ann").result(timeout=60)
        third = mos.generate("Who likes tea?", user_id="ann", memories=ids, max_new_tokens=2)
        assert third.caches == [HOT_CACHE]
        assert third.token_ids == first.token_ids


def test_the_hot_cache_is_bounded(
    tmp_path: Path, embedder: Any, clock: FixedClock, tiny_lm: Any
) -> None:
    with open_mos(
        tmp_path / "d",
        embedder,
        clock,
        promote_threshold=1,
        hot_max_memories=2,
        max_block_tokens=400,
    ) as mos:
        ids = [item.id for item in mos.add_texts(FACTS, user_id="ann")]
        _use(mos, ids, 1)
        _use(mos, ids[1:3], 1)  # the two most accessed
        mos.activation.scheduler.run_once(user_id="ann")
        record = mos.activation.get(HOT_CACHE, user_id="ann")
        assert record.memory_ids == ids[1:3]
        assert record.info.token_count <= 400
