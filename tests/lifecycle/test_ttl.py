"""TTL: an expired memory is gone from every read at once, and the purge job erases it as
forget does: no byte of it is left in the data directory."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from memosys.api.local import DATABASE_FILE, MemOS
from memosys.core.clock import FixedClock
from memosys.core.errors import InvalidInputError, NotFoundError
from memosys.lifecycle.jobs import JOB_ACTOR
from memosys.lifecycle.upkeep import upkeep_of
from memosys.settings import MemosysSettings, StoreSettings
from memosys.stores.base import Scope

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def _rows(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path / DATABASE_FILE) as conn:
        return conn.execute(sql, params).fetchall()


def test_an_expired_memory_leaves_every_read_path(
    mos: MemOS, clock: FixedClock, tmp_path_factory: pytest.TempPathFactory
) -> None:
    keep, expiring = mos.add_texts(
        ["The boiler was serviced in April.", "The door code is 4711 this week."], user_id="ann"
    )
    mos.set_expiry(expiring.id, user_id="ann", expires_at=T0 + timedelta(hours=1))
    assert mos.get(expiring.id, user_id="ann").expires_at == T0 + timedelta(hours=1)

    clock.set(T0 + timedelta(hours=2))

    with pytest.raises(NotFoundError):
        mos.get(expiring.id, user_id="ann")
    assert [i.id for i in mos.list(user_id="ann", include_history=True)] == [keep.id]
    assert mos.count(user_id="ann") == 1
    for mode in ("hybrid", "bm25", "dense"):
        hits = mos.search("door code", user_id="ann", mode=mode, include_archived=True)
        assert expiring.id not in {h.item.id for h in hits}
    exported = tmp_path_factory.mktemp("export") / "out.jsonl"  # outside the data directory
    assert mos.export_items(exported, user_id="ann") == 1
    assert json.loads(exported.read_text())["id"] == keep.id
    with pytest.raises(NotFoundError):
        mos.update(expiring.id, user_id="ann", tags=["x"])


def test_the_purge_job_deletes_expired_rows_vectors_and_versions(
    mos: MemOS, clock: FixedClock, tmp_path: Path
) -> None:
    items = mos.add_texts([f"Temporary note number {n}." for n in range(5)], user_id="ann")
    for item in items[:3]:
        mos.set_expiry(item.id, user_id="ann", expires_at=T0 + timedelta(minutes=5))
    expired = [i.id for i in items[:3]]
    assert len(_rows(tmp_path, "SELECT 1 FROM item_versions")) == 3  # set_expiry made versions

    clock.set(T0 + timedelta(minutes=10))
    run = mos.run_job("ttl-purge")

    assert run.status == "succeeded" and run.result == {"purged": 3, "compacted": True}
    marks = ",".join("?" * len(expired))
    assert _rows(tmp_path, f"SELECT id FROM items WHERE id IN ({marks})", *expired) == []
    assert _rows(tmp_path, "SELECT 1 FROM item_versions") == []
    assert len(_rows(tmp_path, "SELECT 1 FROM vectors")) == 2
    fts = _rows(tmp_path, "SELECT rowid FROM items_fts WHERE items_fts MATCH 'temporary'")
    assert len(fts) == 2
    assert mos.run_job("ttl-purge").result == {"purged": 0, "compacted": None}


SECRET = "Quillonberry clinic diagnosed Xanthelasmic syndrome for Ann"


def _raw_hits(data_dir: Path, needle: bytes) -> list[str]:
    return [
        str(p.relative_to(data_dir))
        for p in sorted(data_dir.rglob("*"))
        if p.is_file() and needle in p.read_bytes()
    ]


def test_the_purge_job_leaves_no_trace_of_an_expired_memory(
    tmp_path: Path, embedder: Any, clock: FixedClock
) -> None:
    """Expiry is scheduled forgetting: once the job ran, nothing of the memory is left in
    any file of the data directory (database, WAL, saved HNSW index, auth database), no
    other memory links to it and snapshots no longer count it."""
    settings = MemosysSettings(store=StoreSettings(ann_threshold=20))
    texts = [f"Note {n}: the boiler in flat {n} was serviced." for n in range(39)]
    with MemOS.open(tmp_path, embedder=embedder, clock=clock, settings=settings) as mos:
        *others, secret = mos.add_texts([*texts, SECRET], user_id="ann")
        mos.search("boiler service", user_id="ann", mode="dense")
        assert mos.store.wait_for_vector_index(secret.cube_id, timeout=60)  # type: ignore[attr-defined]
    assert list((tmp_path / f"{DATABASE_FILE}.ann").glob("*.usearch"))
    ((vector,),) = _rows(tmp_path, "SELECT v.vector FROM vectors v JOIN items i "
                         "ON i.rowid = v.item_rowid WHERE i.id = ?", secret.id)
    with MemOS.open(tmp_path, embedder=embedder, clock=clock, settings=settings) as mos:
        # the store zeroes what it deletes or replaces, whatever the SQLite build's
        # default: the purge then needs no VACUUM
        with mos.store._db.exclusive() as conn:  # type: ignore[attr-defined]
            assert conn.execute("PRAGMA secure_delete").fetchone() == (1,)
        scope = Scope("ann", (secret.cube_id,))
        linked = others[0].model_copy(update={"supersedes": [secret.id],
                                              "merged_from": [secret.id]})
        mos.store.update_item(scope, linked, None)
        mos.set_expiry(secret.id, user_id="ann", expires_at=T0 + timedelta(hours=1))
        clock.set(T0 + timedelta(minutes=30))
        mos.snapshot("default", "before", user_id="ann")
        assert mos.list_snapshots(user_id="ann")[0].item_count == 40
        assert not mos.verify_forgotten(ids=[secret.id], texts=[SECRET]).clean
        assert _raw_hits(tmp_path, b"Xanthelasmic") and _raw_hits(tmp_path, vector)

        clock.set(T0 + timedelta(hours=2))
        run = mos.run_job("ttl-purge")

        assert run.result == {"purged": 1, "compacted": True}
        assert mos.get(others[0].id, user_id="ann").supersedes == []
        assert mos.get(others[0].id, user_id="ann").merged_from == []
        assert mos.list_snapshots(user_id="ann")[0].item_count == 39
        assert len(mos.list(user_id="ann", snapshot="before", limit=100)) == 39
        hits = mos.search("Xanthelasmic syndrome", user_id="ann", mode="dense", top_k=40)
        assert secret.id not in {h.item.id for h in hits} and len(hits) == 39
        (record,) = mos.audit_log(user_id="ann", item_id=secret.id, action="memory.forget")
        assert record.actor == JOB_ACTOR == "@jobs"
        report = mos.verify_forgotten(ids=[secret.id], texts=[SECRET])
    assert report.clean, report.leftovers
    assert report.files >= 3  # the database, its auth database and the saved index at least
    for needle in (b"Xanthelasmic", b"Quillonberry", b"quillonberri", b"xanthelasm", vector):
        assert _raw_hits(tmp_path, needle) == [], needle[:20]


def test_a_run_after_a_failed_one_compacts_even_with_nothing_left_to_purge(
    mos: MemOS, clock: FixedClock
) -> None:
    """A run that failed may have purged some batches and not compacted after them."""
    upkeep = upkeep_of(mos.store)
    failed = upkeep.start_run("ttl-purge", {}, os.getpid(), clock.now())
    upkeep.finish_run(failed.id, "failed", None, "StoreError: database is locked", clock.now())
    assert mos.run_job("ttl-purge").result == {"purged": 0, "compacted": True}
    assert mos.run_job("ttl-purge").result == {"purged": 0, "compacted": None}


def test_a_frozen_expired_memory_waits_for_its_owner(mos: MemOS, clock: FixedClock) -> None:
    (item,) = mos.add_texts(["Keep this one."], user_id="ann")
    mos.set_expiry(item.id, user_id="ann", expires_at=T0 + timedelta(minutes=1))
    mos.freeze(item.id, user_id="ann")
    clock.set(T0 + timedelta(minutes=2))
    assert mos.run_job("ttl-purge").result == {"purged": 0, "compacted": None}


def test_expiry_can_be_cleared_and_must_be_a_datetime(mos: MemOS, clock: FixedClock) -> None:
    (item,) = mos.add_texts(["Wifi password is hunter2."], user_id="ann")
    mos.set_expiry(item.id, user_id="ann", expires_at=T0 + timedelta(minutes=1))
    mos.set_expiry(item.id, user_id="ann", expires_at=None)
    clock.set(T0 + timedelta(days=1))
    assert mos.get(item.id, user_id="ann").expires_at is None
    with pytest.raises(InvalidInputError, match="datetime"):
        mos.set_expiry(item.id, user_id="ann", expires_at="tomorrow")  # type: ignore[arg-type]


def test_another_users_memory_cannot_be_given_an_expiry(mos: MemOS) -> None:
    (item,) = mos.add_texts(["Bob's secret."], user_id="bob")
    with pytest.raises(NotFoundError):
        mos.set_expiry(item.id, user_id="ann", expires_at=T0)
    assert mos.get(item.id, user_id="bob").expires_at is None


def test_the_rest_api_honours_expiry_too(mos: MemOS, clock: FixedClock) -> None:
    from memosys import RemoteMemOS
    from memosys.server.app import create_app
    from memosys.server.transport import InProcessTransport

    admin = mos.ensure_admin_key()
    assert admin is not None
    keep, expiring = mos.add_texts(["The boiler was serviced.", "Door code 4711."], user_id="ann")
    mos.set_expiry(expiring.id, user_id="ann", expires_at=T0 + timedelta(hours=1))
    remote = RemoteMemOS("http://memosys.test", api_key=admin.api_key,
                         transport=InProcessTransport(create_app(mos)))
    with remote:
        assert remote.get(expiring.id, user_id="ann").id == expiring.id
        clock.set(T0 + timedelta(hours=2))
        with pytest.raises(NotFoundError):
            remote.get(expiring.id, user_id="ann")
        assert [i.id for i in remote.list(user_id="ann")] == [keep.id]
        hits = remote.search("door code", user_id="ann", include_archived=True)
        assert expiring.id not in {h.item.id for h in hits}


def test_rollback_and_snapshot_restore_keep_the_expiry_set_since(
    mos: MemOS, clock: FixedClock
) -> None:
    (item,) = mos.add_texts(["Ana's passport number is X123."], user_id="ann")
    mos.snapshot("default", "before", user_id="ann")
    mos.update(item.id, user_id="ann", content="Ana's passport number is Y456.")
    expiry = T0 + timedelta(days=30)
    mos.set_expiry(item.id, user_id="ann", expires_at=expiry)

    rolled = mos.rollback(item.id, 1, user_id="ann")
    assert (rolled.content, rolled.expires_at) == ("Ana's passport number is X123.", expiry)

    mos.update(item.id, user_id="ann", content="Ana's passport number is Z789.")
    mos.restore_snapshot("default", "before", user_id="ann")
    restored = mos.get(item.id, user_id="ann")
    assert (restored.content, restored.expires_at) == ("Ana's passport number is X123.", expiry)
