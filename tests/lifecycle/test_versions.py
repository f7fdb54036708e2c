"""Versions and time travel on a real store: updates append versions, history, rollback, as_of."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memosys.api.local import DATABASE_FILE, MemOS
from memosys.core.clock import FixedClock
from memosys.core.errors import ConflictError, InvalidInputError, NotFoundError
from memosys.stores.base import Scope

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
PARIS = "Ana lives in Paris and works at the Louvre."
BERLIN = "Ana lives in Berlin and works at the Pergamon museum."


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def _move(mos: MemOS, clock: FixedClock) -> str:
    """Paris on day 0, Berlin from day 1; returns the memory's id."""
    (item,) = mos.add_texts([PARIS], user_id="ana", tags=["home"])
    clock.set(T0 + DAY)
    mos.update(item.id, user_id="ana", content=BERLIN)
    clock.set(T0 + 2 * DAY)
    return item.id


def test_update_appends_a_version_and_keeps_the_id(mos: MemOS, clock: FixedClock) -> None:
    item_id = _move(mos, clock)
    current = mos.get(item_id, user_id="ana")
    assert current.id == item_id and current.version == 2 and current.content == BERLIN
    versions = mos.history(item_id, user_id="ana")
    assert [v.version for v in versions] == [1, 2]
    first, second = versions
    assert first.item.content == PARIS and first.changed_by == "ana"
    assert first.changes == ["created"] and first.recorded_from == T0
    assert first.recorded_to == second.recorded_from == T0 + DAY
    assert second.recorded_to is None
    assert "content" in second.changes and "tags" not in second.changes


def test_every_change_is_a_version_with_who_and_why(mos: MemOS, clock: FixedClock) -> None:
    item_id = _move(mos, clock)
    mos.update(item_id, user_id="ana", tags=["home", "work"])
    mos.archive(item_id, user_id="ana")
    versions = mos.history(item_id, user_id="ana")
    assert [v.version for v in versions] == [1, 2, 3, 4]
    assert versions[2].changes == ["tags"]
    assert versions[3].changes == ["state"]
    assert versions[3].note == "state: generated -> archived"


def test_history_is_scoped_to_the_user(mos: MemOS, clock: FixedClock) -> None:
    item_id = _move(mos, clock)
    with pytest.raises(NotFoundError):
        mos.history(item_id, user_id="mallory")


def test_rollback_restores_content_and_vector_as_a_new_version(
    mos: MemOS, clock: FixedClock
) -> None:
    item_id = _move(mos, clock)
    restored = mos.rollback(item_id, 1, user_id="ana")
    assert restored.id == item_id and restored.version == 3 and restored.content == PARIS
    assert mos.get(item_id, user_id="ana").content == PARIS
    latest = mos.history(item_id, user_id="ana")[-1]
    assert latest.note == "rollback to version 1"
    (record,) = mos.audit_log(user_id="ana", item_id=item_id, limit=1)
    assert (record.action, record.detail) == ("memory.update", {"rollback_to": 1})
    # the vector of version 1 came back with it: dense search finds the Louvre again
    (hit,) = mos.search("Louvre Paris", user_id="ana", mode="dense", top_k=1)
    assert hit.item.id == item_id and hit.explain.retrievers[0].score > 0.5
    (text_hit,) = mos.search("Louvre", user_id="ana", mode="bm25", top_k=1)
    assert text_hit.item.id == item_id


def test_rollback_refuses_bad_versions(mos: MemOS, clock: FixedClock) -> None:
    item_id = _move(mos, clock)
    with pytest.raises(NotFoundError, match="has no version 7"):
        mos.rollback(item_id, 7, user_id="ana")
    with pytest.raises(InvalidInputError, match="already the current version"):
        mos.rollback(item_id, 2, user_id="ana")
    with pytest.raises(InvalidInputError, match="integer >= 1"):
        mos.rollback(item_id, 0, user_id="ana")
    with pytest.raises(InvalidInputError, match="integer >= 1"):
        mos.rollback(item_id, "1", user_id="ana")  # type: ignore[arg-type]
    assert mos.get(item_id, user_id="ana").version == 2


def test_list_as_of_answers_as_the_memory_stood(mos: MemOS, clock: FixedClock) -> None:
    item_id = _move(mos, clock)
    (later,) = mos.add_texts(["Ana adopted a cat called Miso."], user_id="ana")
    assert mos.list(user_id="ana", as_of=T0 - DAY) == []
    (then,) = mos.list(user_id="ana", as_of=T0 + DAY / 2)
    assert then.id == item_id and then.content == PARIS and then.version == 1
    now = mos.list(user_id="ana", as_of=T0 + 2 * DAY)
    assert [i.content for i in now] == [BERLIN, "Ana adopted a cat called Miso."]
    assert later.id in {i.id for i in mos.list(user_id="ana")}
    naive = mos.list(user_id="ana", as_of=(T0 + DAY / 2).replace(tzinfo=None))
    assert [i.content for i in naive] == [PARIS]


def test_list_as_of_applies_filters_to_the_old_version(mos: MemOS, clock: FixedClock) -> None:
    item_id = _move(mos, clock)
    mos.update(item_id, user_id="ana", tags=["moved"])
    assert mos.list(user_id="ana", filters={"tags": "home"}) == []
    (old,) = mos.list(user_id="ana", filters={"tags": "home"}, as_of=T0 + DAY / 2)
    assert old.content == PARIS


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_search_as_of_finds_the_version_current_then(
    mos: MemOS, clock: FixedClock, mode: Any
) -> None:
    item_id = _move(mos, clock)
    mos.add_texts(["The weather in Lisbon was sunny."], user_id="ana")
    hits = mos.search("Louvre in Paris", user_id="ana", mode=mode, as_of=T0 + DAY / 2)
    assert [h.item.content for h in hits] == [PARIS]  # Lisbon did not exist yet
    assert hits[0].item.id == item_id and hits[0].explain.retrievers
    current = mos.search("Louvre in Paris", user_id="ana", mode=mode)
    assert PARIS not in [h.item.content for h in current]


def test_search_as_of_rejects_what_it_cannot_do(mos: MemOS, clock: FixedClock) -> None:
    _move(mos, clock)
    with pytest.raises(InvalidInputError, match="drop mmr"):
        mos.search("Paris", user_id="ana", as_of=T0, mmr=0.5)
    with pytest.raises(InvalidInputError, match="as_of must be a datetime"):
        mos.search("Paris", user_id="ana", as_of="yesterday")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="not both"):
        mos.list(user_id="ana", as_of=T0, snapshot="s1")
    with pytest.raises(InvalidInputError, match="query is empty"):
        mos.search("  ", user_id="ana", as_of=T0)


def test_valid_time_is_kept_apart_from_transaction_time(mos: MemOS, clock: FixedClock) -> None:
    """Bitemporal: valid_from/valid_to say when the fact held; versions say when we knew."""
    (item,) = mos.add_texts([PARIS], user_id="ana")
    moved = item.model_copy(update={"valid_from": T0 - 400 * DAY, "valid_to": T0 - 10 * DAY})
    clock.set(T0 + DAY)
    mos.store.update_item(Scope("ana", (item.cube_id,)), moved, None)
    (recorded,) = mos.list(user_id="ana", filters={"valid_to": {"$lt": T0.isoformat()}})
    assert recorded.valid_from == T0 - 400 * DAY
    # as of the first day we did not know the end date yet, though it lies before it
    (known_then,) = mos.list(user_id="ana", as_of=T0 + DAY / 2)
    assert known_then.valid_to is None


def test_versions_are_rows_of_the_database(
    mos: MemOS, clock: FixedClock, tmp_path: Path
) -> None:
    item_id = _move(mos, clock)
    with sqlite3.connect(tmp_path / DATABASE_FILE) as conn:
        rows = conn.execute(
            "SELECT version, content, length(vector), replaced_by FROM item_versions "
            "WHERE id = ?",
            (item_id,),
        ).fetchall()
    assert rows == [(1, PARIS, 384 * 4, "ana")]


def test_an_item_stored_before_its_creator_was_recorded_was_made_by_its_user(
    mos: MemOS, clock: FixedClock, tmp_path: Path
) -> None:
    item_id = _move(mos, clock)
    with sqlite3.connect(tmp_path / DATABASE_FILE) as conn:
        assert conn.execute("SELECT created_by FROM items WHERE id = ?", (item_id,)).fetchone() == (
            "ana",
        )
        conn.execute("UPDATE items SET created_by = NULL WHERE id = ?", (item_id,))
    conn.close()
    assert [v.changed_by for v in mos.history(item_id, user_id="ana")] == ["ana", "ana"]


def test_a_failed_update_writes_no_version(
    mos: MemOS, clock: FixedClock, tmp_path: Path
) -> None:
    """The copy to item_versions and the new row commit together, or neither does."""
    item_id = _move(mos, clock)
    current = mos.get(item_id, user_id="ana")
    wrong = np.ones((1, 7), dtype=np.float32)  # the cube stores 384 dimensions
    with pytest.raises(InvalidInputError, match="dimensions"):
        mos.store.update_item(Scope("ana", (current.cube_id,)), current, wrong)
    assert [v.version for v in mos.history(item_id, user_id="ana")] == [1, 2]
    with sqlite3.connect(tmp_path / DATABASE_FILE) as conn:
        assert conn.execute("SELECT count(*) FROM item_versions").fetchone() == (1,)


def test_rollback_to_a_text_another_memory_holds(mos: MemOS, clock: FixedClock) -> None:
    tea, coffee = "Ana drinks green tea.", "Ana drinks black coffee."
    (item,) = mos.add_texts([tea], user_id="ana")
    mos.update(item.id, user_id="ana", content=coffee)
    (other,) = mos.add_texts([tea], user_id="ana")  # the text is free again: a new memory

    with pytest.raises(ConflictError, match=f"memory {other.id} holds the same content"):
        mos.rollback(item.id, 1, user_id="ana")
    assert mos.get(item.id, user_id="ana").content == coffee
    assert len(mos.history(item.id, user_id="ana")) == 2  # nothing written

    mos.archive(other.id, user_id="ana")  # a stale memory gives the text up
    restored = mos.rollback(item.id, 1, user_id="ana")
    assert restored.content == tea and restored.content_hash
    assert mos.get(other.id, user_id="ana").content_hash == ""
    assert [i.id for i in mos.add_texts([tea], user_id="ana")] == [item.id]
