"""Search as of a past time on the live indexes plus the versions changed since (real SQLite).

Items unchanged since T are ranked by the live FTS5 index and vector cache, the
versions current at T are scored beside them; both must compare, and what was
visible at T (not created later, not yet expired) must be exactly what is found.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memosys.api.local import MemOS
from memosys.core.clock import FixedClock
from memosys.lifecycle.versions import version_store
from memosys.stores.base import Scope

T0 = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
HARBOUR = "I parked the red car near the Lisbon harbour, by the old lighthouse."
FILLER = [f"Note {n}: the weekly meeting moved to room {n}." for n in range(30)]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def test_a_version_scores_exactly_like_the_same_text_in_the_live_index(
    mos: MemOS, clock: FixedClock
) -> None:
    home = mos.create_cube("home", owner="ana")
    work = mos.create_cube("work", owner="ana")
    (moved,) = mos.add_texts([HARBOUR], user_id="ana", cube="home")
    (kept,) = mos.add_texts([HARBOUR], user_id="ana", cube="work")
    mos.add_texts(FILLER, user_id="ana", cube="work")
    clock.set(T0 + HOUR)
    mos.update(moved.id, user_id="ana", content="I cycled to the office along the river.")
    clock.set(T0 + 2 * HOUR)

    scope = Scope("ana", (home.id, work.id))
    ranked = version_store(mos.store).rank_as_of(
        scope, T0 + HOUR / 2, None, query="red car at the Lisbon lighthouse room",
        vector=mos.embedder.embed([HARBOUR], purpose="query")[0], limit=5,
    )
    bm25 = {hit.id: hit.score for hit in ranked["bm25"]}
    dense = {hit.id: hit.score for hit in ranked["dense"]}
    # the old version (scored beside the index) and the live copy (scored by FTS5) agree
    assert bm25[moved.id] == pytest.approx(bm25[kept.id], rel=1e-9)
    assert dense[moved.id] == pytest.approx(dense[kept.id], abs=1e-6)
    assert dense[moved.id] == pytest.approx(1.0, abs=1e-5)
    assert [h.id for h in ranked["bm25"][:2]] in ([moved.id, kept.id], [kept.id, moved.id])


def test_what_was_visible_then_is_found_and_nothing_else(mos: MemOS, clock: FixedClock) -> None:
    (lease,) = mos.add_texts(["The flat lease on Rua Augusta ends in June."], user_id="ana")
    mos.set_expiry(lease.id, user_id="ana", expires_at=T0 + 2 * HOUR)  # expires after T
    (gone,) = mos.add_texts(["The Rua Augusta parking pass is valid."], user_id="ana")
    mos.set_expiry(gone.id, user_id="ana", expires_at=T0 + HOUR / 2)  # expired before T
    mos.add_texts(FILLER, user_id="ana")
    then = T0 + HOUR
    clock.set(T0 + 3 * HOUR)
    (later,) = mos.add_texts(["A new flat on Rua Augusta was signed."], user_id="ana")

    for mode in ("bm25", "dense", "hybrid"):
        found = [h.item.id for h in mos.search("Rua Augusta flat", user_id="ana", mode=mode,
                                               as_of=then, top_k=50)]
        assert lease.id in found and gone.id not in found and later.id not in found, mode
        assert found[0] == lease.id, mode
        live = [h.item.id for h in mos.search("Rua Augusta flat", user_id="ana", mode=mode)]
        assert lease.id not in live and later.id in live, mode


def test_as_of_reads_of_a_user_without_cubes_are_empty(mos: MemOS) -> None:
    mos.add_texts(["Somebody else's memory."], user_id="bob")
    assert mos.list(user_id="carla", as_of=T0) == []
    assert mos.search("memory", user_id="carla", as_of=T0) == []
